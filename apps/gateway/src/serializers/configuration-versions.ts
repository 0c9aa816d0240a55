import { CAPABILITY_TTL_MS, capabilityPaths, mintCapability, type KeyRing } from "@tarmac/contracts";
import type { ConfigurationVersionModel } from "@tarmac/db";
import type { Resource } from "@tarmac/jsonapi";

export function configurationVersionPath(id: string): string {
  return `/api/v2/configuration-versions/${id}`;
}

/** The capability URL the tar.gz is PUT to (no bearer token is sent to it, notes §0.7); it expires. */
export function uploadUrl(cvId: string, ctx: { publicUrl: string; keys: KeyRing; now: () => Date }): string {
  return ctx.publicUrl + capabilityPaths.upload(cvId, mintCapability(ctx.keys, "upload", cvId, CAPABILITY_TTL_MS.upload, ctx.now()));
}

/**
 * A `configuration-versions` resource (notes §4.1). `upload-url` is only given
 * in the create response; afterwards HCP hides it, and so do we.
 */
export function serializeConfigurationVersion(
  cv: ConfigurationVersionModel,
  opts: { uploadUrl?: string } = {},
): Resource {
  const self = configurationVersionPath(cv.id);
  return {
    id: cv.id,
    type: "configuration-versions",
    attributes: {
      "auto-queue-runs": cv.autoQueueRuns,
      error: cv.error,
      "error-message": cv.errorMessage,
      source: cv.source,
      speculative: cv.speculative,
      provisional: cv.provisional,
      status: cv.status,
      "status-timestamps": (cv.statusTimestamps ?? {}) as Record<string, string>,
      "changed-files": [],
      ...(opts.uploadUrl ? { "upload-url": opts.uploadUrl } : {}),
    },
    relationships: {
      // API uploads carry no VCS ingress data.
      "ingress-attributes": { data: null, links: { related: `${self}/ingress-attributes` } },
    },
    links: { self, download: `${self}/download` },
  };
}

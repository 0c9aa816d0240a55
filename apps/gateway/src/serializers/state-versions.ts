import { CAPABILITY_TTL_MS, capabilityPaths, mintCapability, type KeyRing } from "@tarmac/contracts";
import type { stateVersionsRepo, StateVersionOutputModel } from "@tarmac/db";
import { time, toMany, toOne, type Resource } from "@tarmac/jsonapi";

export interface StateVersionSerializeContext {
  publicUrl: string;
  /** Mint the upload capability URLs of pending versions; they expire like configuration uploads. */
  keys: KeyRing;
  now: () => Date;
}

export function stateVersionPath(id: string): string {
  return `/api/v2/state-versions/${id}`;
}

/** HCP's `type` is the bare kind ("list"); `detailed-type` keeps terraform's full type expression. */
function simpleType(type: unknown): string {
  if (typeof type === "string") return type;
  if (Array.isArray(type) && typeof type[0] === "string") return type[0];
  return "string";
}

/**
 * A `state-versions` resource (notes §10). The download URLs are absolute and authenticated:
 * the CLI fetches state with its bearer token (notes §0.7). The upload URLs are capability URLs
 * (go-tfe PUTs to them without a token) and, as on HCP, shown only until that content arrives:
 * a pending version shows both; once finalized, neither. `md5`, `lineage`, `state` and `force`
 * are write-only in HCP's schema and never sent back.
 */
export function serializeStateVersion(sv: stateVersionsRepo.StateVersionRow, ctx: StateVersionSerializeContext): Resource {
  const self = stateVersionPath(sv.id);
  const pending = sv.status === "pending";
  const hasState = sv.stateBlobId !== null;
  return {
    id: sv.id,
    type: "state-versions",
    attributes: {
      "created-at": time(sv.createdAt),
      size: hasState ? sv.size : null,
      serial: sv.serial,
      status: sv.status,
      "hosted-state-download-url": hasState ? `${ctx.publicUrl}${self}/download` : null,
      "hosted-json-state-download-url": sv.jsonStateBlobId ? `${ctx.publicUrl}${self}/json-download` : null,
      "hosted-state-upload-url":
        pending && !hasState ? `${ctx.publicUrl}${capabilityPaths.stateUpload(sv.id, mintCapability(ctx.keys, "state-upload", sv.id, CAPABILITY_TTL_MS.upload, ctx.now()))}` : null,
      "hosted-json-state-upload-url":
        pending && !sv.jsonStateBlobId
          ? `${ctx.publicUrl}${capabilityPaths.jsonStateUpload(sv.id, mintCapability(ctx.keys, "json-state-upload", sv.id, CAPABILITY_TTL_MS.upload, ctx.now()))}`
          : null,
      "resources-processed": sv.resourcesProcessed,
      "terraform-version": sv.terraformVersion,
      modules: sv.modules,
      providers: sv.providers,
      resources: sv.resources,
      "state-version": 4,
      "vcs-commit-sha": null,
      "vcs-commit-url": null,
      intermediate: false,
      "billable-rum-count": null,
    },
    relationships: {
      run: toOne("runs", sv.runId),
      "created-by": toOne("users", sv.createdById),
      workspace: toOne("workspaces", sv.workspaceId),
      outputs: toMany("state-version-outputs", sv.outputIds, `${self}/outputs`),
    },
    links: { self },
  };
}

/** Sensitive values are never sent (HCP returns null for them in lists). */
export function serializeStateVersionOutput(o: StateVersionOutputModel): Resource {
  return {
    id: o.id,
    type: "state-version-outputs",
    attributes: {
      name: o.name,
      sensitive: o.sensitive,
      type: simpleType(o.type),
      "detailed-type": o.type,
      value: o.sensitive ? null : o.value,
    },
    links: { self: `/api/v2/state-version-outputs/${o.id}` },
  };
}

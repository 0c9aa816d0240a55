import type { stateVersionsRepo, StateVersionOutputModel } from "@tarmac/db";
import { time, toMany, toOne, type Resource } from "@tarmac/jsonapi";

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
 * A `state-versions` resource (notes §10). The download URL is absolute and
 * authenticated: the CLI fetches it with its bearer token (notes §0.7).
 */
export function serializeStateVersion(sv: stateVersionsRepo.StateVersionRow, ctx: { publicUrl: string }): Resource {
  const self = stateVersionPath(sv.id);
  return {
    id: sv.id,
    type: "state-versions",
    attributes: {
      "created-at": time(sv.createdAt),
      size: sv.size,
      serial: sv.serial,
      status: sv.status,
      "hosted-state-download-url": sv.stateBlobId ? `${ctx.publicUrl}${self}/download` : null,
      "hosted-json-state-download-url": null,
      "hosted-state-upload-url": null,
      "hosted-json-state-upload-url": null,
      "resources-processed": sv.resourcesProcessed,
      "terraform-version": sv.terraformVersion,
      modules: sv.modules,
      providers: sv.providers,
      resources: sv.resources,
      "state-version": 4,
      "vcs-commit-sha": null,
      "vcs-commit-url": null,
      intermediate: false,
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

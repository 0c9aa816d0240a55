import type { variablesRepo } from "@tarmac/db";
import { time, toOne, type Resource } from "@tarmac/jsonapi";

/** A `vars` resource. Sensitive values are write-only: always null here. */
export function serializeVariable(v: variablesRepo.WorkspaceVariable): Resource {
  return {
    id: v.id,
    type: "vars",
    attributes: {
      key: v.key,
      value: v.sensitive ? null : v.value,
      description: v.description,
      category: v.category,
      hcl: v.hcl,
      sensitive: v.sensitive,
      "created-at": time(v.createdAt),
      "version-id": `${v.updatedAt.getTime().toString(16)}`,
    },
    relationships: {
      configurable: { data: { type: "workspaces", id: v.workspaceId }, links: { related: `/api/v2/workspaces/${v.workspaceId}` } },
      workspace: toOne("workspaces", v.workspaceId),
    },
    links: { self: `/api/v2/workspaces/${v.workspaceId}/vars/${v.id}` },
  };
}

import type { Db } from "./client";

/**
 * For this package's tests: the organization `org-1` with workspace `ws-1` and its uploaded
 * configuration version `cv-1`, what most of them create runs in.
 */
export async function seedWorkspace(db: Db): Promise<void> {
  await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
  await db.workspace.create({ data: { id: "ws-1", organizationId: "org-1", name: "w" } });
  await db.configurationVersion.create({ data: { id: "cv-1", workspaceId: "ws-1", status: "uploaded" } });
}

import { inTransaction, lockWorkspaceForUpdate, tagsRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { writeTagBindings } from "../http/tag-input";

/** A workspace's tags and tag bindings, each change under the workspace's row lock. */

export async function changeFlatTags(deps: GatewayDeps, workspaceId: string, names: string[], add: boolean): Promise<void> {
  await inTransaction(deps.db, async (tx) => {
    if (!(await lockWorkspaceForUpdate(tx, workspaceId))) throw notFound();
    await (add ? tagsRepo.addFlatTags(tx, workspaceId, names) : tagsRepo.removeTags(tx, workspaceId, names));
  });
}

/** Merges into (adds or updates keys) or replaces the workspace's tag bindings. */
export async function writeWorkspaceTagBindings(
  deps: GatewayDeps,
  workspaceId: string,
  bindings: tagsRepo.TagBindingInput[],
  mode: "merge" | "replace",
): Promise<void> {
  await inTransaction(deps.db, async (tx) => {
    if (!(await lockWorkspaceForUpdate(tx, workspaceId))) throw notFound();
    await writeTagBindings(tx, { workspaceId }, bindings, mode);
  });
}

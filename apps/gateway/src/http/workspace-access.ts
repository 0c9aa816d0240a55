import { workspacesRepo, type Db, type Tx } from "@tarmac/db";
import { accessAtLeast, notFound, type WorkspaceAccess } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { workspaceAccess, type Principal } from "./auth";

export type WorkspaceRef = string | { organizationName: string; workspaceName: string };

export interface LoadedWorkspace {
  workspace: workspacesRepo.WorkspaceView;
  access: WorkspaceAccess;
}

/**
 * Loads a workspace by id (`ws-…`) or by organization and name, with the
 * principal's access on it. A workspace the principal cannot see is a 404,
 * exactly like a missing one (notes §1.2). `minimum` raises the bar: a
 * principal below it also gets a 404. Pass `tx` to read inside a transaction.
 */
export async function loadWorkspaceForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  ref: WorkspaceRef,
  minimum: WorkspaceAccess = "read",
  tx?: Tx,
): Promise<LoadedWorkspace> {
  const db: Db | Tx = tx ?? deps.db;
  const workspace =
    typeof ref === "string"
      ? await workspacesRepo.findWorkspaceView(db, ref)
      : await workspacesRepo.findWorkspaceViewByName(db, ref.organizationName, ref.workspaceName);
  if (!workspace) throw notFound();
  const access = await workspaceAccess(deps.db, principal, workspace);
  if (access === null || !accessAtLeast(access, minimum)) throw notFound();
  return { workspace, access };
}

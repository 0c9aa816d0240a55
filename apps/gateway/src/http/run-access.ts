import { runsRead, type Tx } from "@tarmac/db";
import { isId, notFound, type Permission, type WorkspaceAccess } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { RunRow } from "../serializers/runs";
import type { Principal } from "./auth";
import { allows, workspaceAccessOf } from "./workspace-access";

/** The run's workspace is only its identity: the run document and the access check need no more. */
export type RunContext = { run: RunRow; workspace: { id: string; organizationId: string }; access: WorkspaceAccess };

/**
 * A run the principal may see holding `required` on its workspace (a permission key, or an access
 * level where a route still declares one). Anything else is a 404, exactly like a missing run
 * (notes §1.2).
 */
export async function loadRunForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  runId: string,
  required: Permission | WorkspaceAccess = "can-read-run",
  tx?: Tx,
): Promise<RunContext> {
  // Ids that could not have been minted never reach the database (a NUL byte would make it fail).
  if (!isId("run", runId)) throw notFound("run not found");
  const run = await runsRead.findRun(tx ?? deps.db, runId);
  if (!run) throw notFound("run not found");
  const workspace = { id: run.workspaceId, organizationId: run.organizationId };
  const access = await workspaceAccessOf(tx ?? deps.db, principal, workspace);
  if (access === null || !allows(access, principal, required)) throw notFound("run not found");
  return { run, workspace, access };
}

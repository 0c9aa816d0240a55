import { runsRead, type Tx } from "@tarmac/db";
import { isId, notFound, type Permission, type WorkspaceAccess } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { RunRow } from "../serializers/runs";
import type { Principal } from "./auth";
import { allows, workspaceAccessOf } from "./workspace-access";

/** The run's workspace is only its identity: the run document and the access check need no more. */
export type RunContext = {
  run: RunRow;
  workspace: { id: string; organizationId: string };
  access: WorkspaceAccess;
  /** What the run's document shows beyond the row, when it was read with the run (loadRunDocumentForPrincipal). */
  known?: { extras: runsRead.RunExtras; taskStageIds: string[] };
};

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

/**
 * Like loadRunForPrincipal, for the run's own document (GET /runs/:id, which clients poll): the
 * run and what its document shows in one statement, the access check without another for tokens
 * whose standing needs none. The same 404s.
 */
export async function loadRunDocumentForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  runId: string,
  required: Permission | WorkspaceAccess,
): Promise<RunContext> {
  if (!isId("run", runId)) throw notFound("run not found");
  const found = await runsRead.findRunDocument(deps.db, runId);
  if (!found) throw notFound("run not found");
  const { run, extras, taskStageIds } = found;
  const workspace = { id: run.workspaceId, organizationId: run.organizationId };
  const access = await workspaceAccessOf(deps.db, principal, workspace);
  if (access === null || !allows(access, principal, required)) throw notFound("run not found");
  return { run, workspace, access, known: { extras, taskStageIds } };
}

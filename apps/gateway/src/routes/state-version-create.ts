import { createHash } from "node:crypto";
import type { Request, Response, Router } from "express";
import { z } from "zod";
import { inTransaction, lockWorkspaceForUpdate, stateVersionsRepo, stateVersionUploadsRepo, workspacesRepo } from "@tarmac/db";
import { conflict, notFound, unprocessable } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf } from "../http/auth";
import { jsonApiDocument, parseBody } from "../http/request-body";
import { sendDocument } from "../http/respond";
import { assertHoldsStateLock } from "../http/state-lock";
import { loadWorkspaceForPrincipal } from "../http/workspace-access";
import { serializeStateVersion, type StateVersionSerializeContext } from "../serializers/state-versions";

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

const createBody = jsonApiDocument(
  "state-versions",
  z.object({
    serial: z.number().int().nonnegative(),
    md5: z.string().regex(/^[0-9a-fA-F]{32}$/, "must be the hex MD5 of the state"),
    // Absent in the two-step form (go-tfe StateVersions.Upload, terraform ≥ 1.6): the state is PUT
    // to `hosted-state-upload-url` afterwards. Present in the one-step form (go-tfe Create).
    state: base64.min(1).optional(),
    lineage: z.string().min(1).optional(),
    // go-tfe sends `"force": null` when unset.
    force: z.boolean().nullish(),
    "json-state": base64.optional(),
    // The outputs in terraform's JSON form. Outputs are read from the state itself, which
    // carries the same names, values, sensitivity and types.
    "json-state-outputs": base64.optional(),
  }),
);

/**
 * The `x-terraform-snapshot-interval` header terraform reads from the create and
 * current-state-version responses (internal/cloud/state.go): a positive number of seconds turns
 * on intermediate state snapshots during long local applies, at most that often. 0 sends none.
 */
export function setSnapshotInterval(deps: GatewayDeps, res: Response): void {
  const seconds = deps.env.TARMAC_STATE_SNAPSHOT_INTERVAL_SECONDS;
  if (seconds > 0) res.set("X-Terraform-Snapshot-Interval", String(seconds));
}

/**
 * `POST /workspaces/:id/state-versions`: how the CLI writes state outside a remote run (local
 * execution, `state` commands, `import`, `taint`, migration) and how go-tfe and the tfe provider
 * push it. The caller must hold the workspace lock (http/state-lock.ts); a refused create writes
 * nothing.
 */
export function registerStateVersionCreate(router: Router, deps: GatewayDeps, ctx: StateVersionSerializeContext): void {
  router.post("/workspaces/:id/state-versions", async (req: Request<{ id: string }>, res) => {
    const principal = principalOf(req);
    const { workspace } = await loadWorkspaceForPrincipal(deps, principal, req.params.id, "write");
    const attrs = parseBody(createBody, req.body).data.attributes;
    const md5 = attrs.md5.toLowerCase();
    const force = attrs.force === true;
    const inline = attrs.state === undefined ? null : inlineState(attrs.state, md5, attrs.serial, attrs.lineage);
    const jsonState = attrs["json-state"] ? Buffer.from(attrs["json-state"], "base64") : null;

    const result = await inTransaction(deps.db, async (tx) => {
      // The row lock orders this create against lock, unlock and other creates.
      if (!(await lockWorkspaceForUpdate(tx, workspace.id))) throw notFound();
      const view = await workspacesRepo.findWorkspaceView(tx, workspace.id);
      if (!view) throw notFound();
      assertHoldsStateLock(principal, view);
      const createdById = actingUserId(principal);
      if (!inline) {
        const lineage = attrs.lineage ?? null;
        const pending = await stateVersionUploadsRepo.createPendingStateVersion(tx, { workspaceId: workspace.id, serial: attrs.serial, md5, lineage, force, createdById });
        return { id: pending.id, created: true };
      }
      const current = await stateVersionsRepo.findCurrentStateVersion(tx, workspace.id);
      const lineage = attrs.lineage ?? inline.lineage;
      if (!force && current?.lineage && lineage && current.lineage !== lineage) {
        throw conflict(`lineage ${lineage} differs from the current state's lineage ${current.lineage}`);
      }
      return stateVersionsRepo.createStateVersion(tx, { workspaceId: workspace.id, state: inline.state, jsonState, force, createdById });
    });
    const sv = await stateVersionsRepo.findStateVersion(deps.db, result.id);
    if (!sv) throw notFound("state version not found");
    setSnapshotInterval(deps, res);
    sendDocument(res, result.created ? 201 : 200, { data: serializeStateVersion(sv, ctx) });
  });
}

/** The one-step form: the state is in the body, so md5, serial and lineage are checked at once (422). */
function inlineState(encoded: string, md5: string, serial: number, lineage: string | undefined): { state: Buffer; lineage: string | null } {
  const state = Buffer.from(encoded, "base64");
  if (state.length === 0) throw unprocessable("state must be base64-encoded", { pointer: "/data/attributes/state" });
  if (createHash("md5").update(state).digest("hex") !== md5) {
    throw unprocessable("md5 does not match the state", { pointer: "/data/attributes/md5" });
  }
  const parsed = stateVersionsRepo.parseStateFile(state);
  if (parsed.serial !== serial) {
    throw unprocessable(`serial ${serial} does not match the state's serial ${parsed.serial}`, { pointer: "/data/attributes/serial" });
  }
  if (lineage !== undefined && parsed.lineage !== null && lineage !== parsed.lineage) {
    throw unprocessable("lineage does not match the state's lineage", { pointer: "/data/attributes/lineage" });
  }
  return { state, lineage: parsed.lineage };
}

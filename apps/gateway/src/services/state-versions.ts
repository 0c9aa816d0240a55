import { createHash } from "node:crypto";
import { inTransaction, lockWorkspaceForUpdate, stateVersionsRepo, stateVersionUploadsRepo, workspacesRepo } from "@tarmac/db";
import { conflict, notFound, unprocessable } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, type Principal } from "../http/auth";
import { assertHoldsStateLock } from "../http/state-lock";

export interface NewStateVersion {
  serial: number;
  md5: string;
  /** base64; absent in the two-step form, where the state is uploaded afterwards. */
  state?: string | undefined;
  lineage?: string | undefined;
  force?: boolean | null | undefined;
  "json-state"?: string | undefined;
}

/**
 * Writes a state version for a principal holding the workspace's lock (http/state-lock.ts): the
 * whole state when the body carries it (checked against md5, serial and lineage), or a pending
 * version awaiting its upload. Decided under the workspace's row lock; a refusal writes nothing.
 */
export async function createStateVersion(
  deps: GatewayDeps,
  principal: Principal,
  workspaceId: string,
  attrs: NewStateVersion,
): Promise<{ sv: stateVersionsRepo.StateVersionRow; created: boolean }> {
  const md5 = attrs.md5.toLowerCase();
  const force = attrs.force === true;
  const inline = attrs.state === undefined ? null : inlineState(attrs.state, md5, attrs.serial, attrs.lineage);
  const jsonState = attrs["json-state"] ? Buffer.from(attrs["json-state"], "base64") : null;

  const result = await inTransaction(deps.db, async (tx) => {
    // The row lock orders this create against lock, unlock and other creates.
    if (!(await lockWorkspaceForUpdate(tx, workspaceId))) throw notFound();
    const view = await workspacesRepo.findWorkspaceView(tx, workspaceId);
    if (!view) throw notFound();
    assertHoldsStateLock(principal, view);
    const createdById = actingUserId(principal);
    if (!inline) {
      const lineage = attrs.lineage ?? null;
      const pending = await stateVersionUploadsRepo.createPendingStateVersion(tx, { workspaceId, serial: attrs.serial, md5, lineage, force, createdById });
      return { id: pending.id, created: true };
    }
    const current = await stateVersionsRepo.findCurrentStateVersion(tx, workspaceId);
    const lineage = attrs.lineage ?? inline.lineage;
    if (!force && current?.lineage && lineage && current.lineage !== lineage) {
      throw conflict(`lineage ${lineage} differs from the current state's lineage ${current.lineage}`);
    }
    return stateVersionsRepo.createStateVersion(tx, { workspaceId, state: inline.state, jsonState, force, createdById });
  });
  const sv = await stateVersionsRepo.findStateVersion(deps.db, result.id);
  if (!sv) throw notFound("state version not found");
  return { sv, created: result.created };
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

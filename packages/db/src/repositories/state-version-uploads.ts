import { createHash } from "node:crypto";
import { conflict, newId, notFound, unprocessable } from "@tarmac/domain";
import { inTransaction, type Db, type Tx } from "../client";
import { putBlob } from "../blobs";
import { lockWorkspaceForUpdate } from "../runs";
import { makeCurrent, outputRows, parseStateFile, releaseUnfinishedVersions, stateSummaryData } from "./state-versions";

/**
 * The two-step state version of go-tfe's `StateVersions.Upload` (terraform ≥ 1.6): the client
 * creates a version with serial, md5 and lineage but no state, then PUTs the raw state and the
 * JSON state to the version's upload URLs. The version is `pending` until the raw state
 * arrives, checks out against what was declared, and becomes current (`finalized`). A pending
 * version is never current: readers keep the last finalized one.
 */

export interface CreatePendingInput {
  workspaceId: string;
  serial: number;
  md5: string;
  lineage: string | null;
  force: boolean;
  runId?: string | null;
  createdById: string | null;
}

/**
 * Checks a new state's serial and lineage against the workspace's current state. `force`
 * (`terraform state push -force`) skips both: the client replaces whatever is there.
 */
export async function checkAgainstCurrent(
  tx: Tx,
  workspaceId: string,
  state: { serial: number; lineage: string | null; force: boolean },
): Promise<void> {
  if (state.force) return;
  const ws = await tx.workspace.findUniqueOrThrow({
    where: { id: workspaceId },
    select: { currentStateVersion: { select: { serial: true, lineage: true } } },
  });
  const current = ws.currentStateVersion;
  if (!current) return;
  if (current.lineage && state.lineage && current.lineage !== state.lineage) {
    throw conflict(`lineage ${state.lineage} differs from the current state's lineage ${current.lineage}`);
  }
  if (state.serial <= current.serial) {
    throw conflict(`serial ${state.serial} is not greater than the current state's serial ${current.serial}`);
  }
}

/** Records a pending version, in the caller's transaction (which holds the workspace row lock). */
export async function createPendingStateVersion(tx: Tx, input: CreatePendingInput): Promise<{ id: string }> {
  const same = await tx.stateVersion.findFirst({
    where: { workspaceId: input.workspaceId, serial: input.serial, status: "finalized" },
    orderBy: { createdAt: "desc" },
    select: { md5: true },
  });
  if (same && !input.force) {
    throw conflict(
      same.md5 === input.md5
        ? `a state version with serial ${input.serial} already exists`
        : `The MD5 hash of the state provided does not match what is currently known for the same serial number (${input.serial}).`,
    );
  }
  await checkAgainstCurrent(tx, input.workspaceId, input);
  await releaseUnfinishedVersions(tx, input.workspaceId, input.serial);
  const id = newId("sv");
  await tx.stateVersion.create({
    data: {
      id,
      workspaceId: input.workspaceId,
      runId: input.runId ?? null,
      serial: input.serial,
      lineage: input.lineage,
      md5: input.md5,
      force: input.force,
      status: "pending",
      resourcesProcessed: false,
      createdById: input.createdById,
    },
  });
  return { id };
}

async function lockVersionWorkspace(tx: Tx, id: string): Promise<{ workspaceId: string }> {
  const sv = await tx.stateVersion.findUnique({ where: { id }, select: { workspaceId: true } });
  if (!sv || !(await lockWorkspaceForUpdate(tx, sv.workspaceId))) throw notFound();
  return sv;
}

/**
 * The raw state of a pending version arrived. Refused with nothing kept (422) when its md5,
 * serial or lineage differ from what the create declared, 409 when the version already has its
 * state or was discarded, or when the workspace's current state moved past it meanwhile.
 */
export async function finalizeStateVersion(db: Db, id: string, state: Buffer): Promise<void> {
  await inTransaction(db, async (tx) => {
    const { workspaceId } = await lockVersionWorkspace(tx, id);
    const sv = await tx.stateVersion.findUniqueOrThrow({ where: { id } });
    if (sv.status !== "pending" || sv.stateBlobId) {
      throw conflict(`the state version is ${sv.status} and already has its state; a state is uploaded once`);
    }
    if (createHash("md5").update(state).digest("hex") !== sv.md5) {
      throw unprocessable("the MD5 hash of the uploaded state does not match the md5 given when the state version was created");
    }
    const parsed = parseStateFile(state);
    if (parsed.serial !== sv.serial) {
      throw unprocessable(`the uploaded state's serial ${parsed.serial} does not match the state version's serial ${sv.serial}`);
    }
    if (sv.lineage && parsed.lineage && sv.lineage !== parsed.lineage) {
      throw unprocessable("the uploaded state's lineage does not match the lineage given when the state version was created");
    }
    await checkAgainstCurrent(tx, workspaceId, { serial: parsed.serial, lineage: parsed.lineage, force: sv.force });
    const stateBlobId = await putBlob(tx, state, "application/json");
    await tx.stateVersion.update({
      where: { id },
      data: { ...stateSummaryData(parsed, state, stateBlobId), status: "finalized", outputs: { create: outputRows(parsed) } },
    });
    await makeCurrent(tx, workspaceId, id, parsed.resourceCount);
  });
}

/**
 * The JSON state of a version (pending or finalized: go-tfe PUTs both documents concurrently).
 * Accepted once; a discarded version takes nothing.
 */
export async function storeJsonState(db: Db, id: string, jsonState: Buffer): Promise<void> {
  let doc: unknown;
  try {
    doc = JSON.parse(jsonState.toString("utf8"));
  } catch {
    throw unprocessable("the JSON state is not valid JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw unprocessable("the JSON state is not a JSON object");
  await inTransaction(db, async (tx) => {
    await lockVersionWorkspace(tx, id);
    const blobId = await putBlob(tx, jsonState, "application/json");
    const stored = await tx.stateVersion.updateMany({
      where: { id, jsonStateBlobId: null, status: { in: ["pending", "finalized"] } },
      data: { jsonStateBlobId: blobId },
    });
    if (stored.count !== 1) throw conflict("the state version already has its JSON state, or was discarded");
  });
}

/**
 * Whether the newest state version of a workspace still waits for its state: HCP then refuses
 * to unlock the workspace (go-tfe ErrWorkspaceLockedStateVersionStillPending).
 */
export async function isLatestStateVersionPending(db: Db | Tx, workspaceId: string): Promise<boolean> {
  const latest = await db.stateVersion.findFirst({
    where: { workspaceId, status: { not: "discarded" } },
    orderBy: [{ createdAt: "desc" }, { serial: "desc" }],
    select: { status: true },
  });
  return latest?.status === "pending";
}

/**
 * A force-unlock gives up on the lock holder's unfinished upload: its pending versions are
 * discarded, so the workspace can be unlocked and locked again normally.
 */
export async function discardPendingStateVersions(tx: Tx, workspaceId: string): Promise<number> {
  const { count } = await tx.stateVersion.updateMany({ where: { workspaceId, status: "pending" }, data: { status: "discarded" } });
  return count;
}

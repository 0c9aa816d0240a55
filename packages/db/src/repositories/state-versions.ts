import { createHash } from "node:crypto";
import { conflict, newId, unprocessable } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { StateVersionModel, StateVersionOutputModel } from "../generated/prisma/models";
import { getBlob, putBlob } from "../blobs";
import { lockWorkspaceForUpdate } from "../runs";

/**
 * State versions: terraform state files stored as blobs, with the summary HCP shows (resources,
 * modules, providers, outputs) extracted once at creation.
 */

export interface ResourceSummary {
  name: string;
  type: string;
  count: number;
  module: string;
  provider: string;
}

export interface ParsedState {
  serial: number;
  lineage: string | null;
  terraformVersion: string | null;
  /** The state file format version (4 for terraform ≥ 0.12). */
  version: number;
  resources: ResourceSummary[];
  /** {"root": {"null_resource": 2}}: managed resource instances per module and type. */
  modules: Record<string, Record<string, number>>;
  /** {"provider[\"registry.terraform.io/hashicorp/null\"]": {"null_resource": 2}}. */
  providers: Record<string, Record<string, number>>;
  resourceCount: number;
  outputs: { name: string; sensitive: boolean; type: unknown; value: unknown }[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads a terraform state file (format 4); anything else is a 422 naming what is wrong. */
export function parseStateFile(state: Buffer): ParsedState {
  let doc: unknown;
  try {
    doc = JSON.parse(state.toString("utf8"));
  } catch {
    throw unprocessable("state is not valid JSON", { pointer: "/data/attributes/state" });
  }
  if (!isObject(doc)) throw unprocessable("state is not a JSON object", { pointer: "/data/attributes/state" });
  if (typeof doc.serial !== "number" || !Number.isInteger(doc.serial) || doc.serial < 0) {
    throw unprocessable("state serial must be a non-negative integer", { pointer: "/data/attributes/state" });
  }
  const resources: ResourceSummary[] = [];
  const modules: ParsedState["modules"] = {};
  const providers: ParsedState["providers"] = {};
  let resourceCount = 0;
  for (const r of Array.isArray(doc.resources) ? doc.resources : []) {
    if (!isObject(r) || r.mode === "data") continue;
    const count = Array.isArray(r.instances) ? r.instances.length : 0;
    const type = String(r.type ?? "");
    const module = typeof r.module === "string" && r.module !== "" ? r.module : "root";
    const provider = String(r.provider ?? "");
    resourceCount += count;
    resources.push({ name: String(r.name ?? ""), type, count, module, provider });
    const m = (modules[module] ??= {});
    m[type] = (m[type] ?? 0) + count;
    const p = (providers[provider] ??= {});
    p[type] = (p[type] ?? 0) + count;
  }
  const outputs: ParsedState["outputs"] = [];
  if (isObject(doc.outputs)) {
    for (const [name, o] of Object.entries(doc.outputs)) {
      if (!isObject(o)) continue;
      outputs.push({ name, sensitive: o.sensitive === true, type: o.type ?? "string", value: o.value ?? null });
    }
  }
  return {
    serial: doc.serial,
    lineage: typeof doc.lineage === "string" ? doc.lineage : null,
    terraformVersion: typeof doc.terraform_version === "string" ? doc.terraform_version : null,
    version: typeof doc.version === "number" ? doc.version : 4,
    resources,
    modules,
    providers,
    resourceCount,
    outputs,
  };
}

export interface CreateStateVersionInput {
  workspaceId: string;
  runId?: string | null;
  state: Buffer;
  createdById?: string | null;
  /** The JSON state (`terraform show -json` form), when the client sent it inline. */
  jsonState?: Buffer | null;
  /** The client's `force` (`terraform state push -force`): the serial need not exceed the current one. */
  force?: boolean;
}

/** The columns a state's bytes determine: written at an inline create, or when a pending version's upload arrives. */
export function stateSummaryData(parsed: ParsedState, state: Buffer, stateBlobId: string) {
  return {
    serial: parsed.serial,
    lineage: parsed.lineage,
    terraformVersion: parsed.terraformVersion,
    stateBlobId,
    md5: createHash("md5").update(state).digest("hex"),
    size: state.length,
    resources: parsed.resources as object[],
    modules: parsed.modules,
    providers: parsed.providers,
    resourcesProcessed: true,
  };
}

export function outputRows(parsed: ParsedState) {
  return parsed.outputs.map((o) => ({
    id: newId("wsout"),
    name: o.name,
    sensitive: o.sensitive,
    type: o.type as never,
    value: o.value as never,
  }));
}

/**
 * Frees a serial held by a version that never received its state (pending, or discarded by a
 * force-unlock): a client whose upload failed retries with the same serial, and the serial
 * belongs to whichever version is finalized with it. Other pending versions of the workspace
 * are discarded: they can no longer become current once a newer version exists.
 */
export async function releaseUnfinishedVersions(tx: Tx, workspaceId: string, serial: number): Promise<void> {
  const stale = await tx.stateVersion.findMany({
    where: { workspaceId, serial, status: { not: "finalized" } },
    select: { id: true, jsonStateBlobId: true },
  });
  if (stale.length > 0) {
    await tx.stateVersion.deleteMany({ where: { id: { in: stale.map((s) => s.id) } } });
    const blobIds = stale.flatMap((s) => (s.jsonStateBlobId ? [s.jsonStateBlobId] : []));
    if (blobIds.length > 0) await tx.blob.deleteMany({ where: { id: { in: blobIds } } });
  }
  await tx.stateVersion.updateMany({ where: { workspaceId, status: "pending" }, data: { status: "discarded" } });
}

/** Makes a finalized version the workspace's current one. */
export async function makeCurrent(tx: Tx, workspaceId: string, stateVersionId: string, resourceCount: number): Promise<void> {
  await tx.workspace.update({ where: { id: workspaceId }, data: { currentStateVersionId: stateVersionId, resourceCount } });
}

/**
 * Records a state version and makes it the workspace's current one (with its resource count),
 * in the caller's transaction. A retry with the same bytes returns the version already
 * recorded (`created: false`); any other state whose serial is not above the current one is a
 * 409 (unless forced), and an unreadable state a 422 (TarmacErrors).
 */
export async function createStateVersion(tx: Tx, input: CreateStateVersionInput): Promise<{ id: string; created: boolean }> {
  const parsed = parseStateFile(input.state);
  const sha256 = createHash("sha256").update(input.state).digest("hex");
  // Orders this create against other creates and uploads of the workspace's state.
  await lockWorkspaceForUpdate(tx, input.workspaceId);
  const same = await tx.stateVersion.findFirst({
    where: { workspaceId: input.workspaceId, serial: parsed.serial, status: "finalized" },
    orderBy: { createdAt: "desc" },
    select: { id: true, stateBlob: { select: { sha256: true } } },
  });
  if (same && same.stateBlob?.sha256 === sha256) return { id: same.id, created: false };
  if (same && !input.force) {
    throw conflict(`The MD5 hash of the state provided does not match what is currently known for the same serial number (${parsed.serial}).`);
  }
  const ws = await tx.workspace.findUniqueOrThrow({
    where: { id: input.workspaceId },
    select: { currentStateVersion: { select: { serial: true } } },
  });
  const currentSerial = ws.currentStateVersion?.serial;
  if (!input.force && currentSerial !== undefined && parsed.serial <= currentSerial) {
    throw conflict(`serial ${parsed.serial} is not greater than the current state's serial ${currentSerial}`);
  }
  await releaseUnfinishedVersions(tx, input.workspaceId, parsed.serial);
  const stateBlobId = await putBlob(tx, input.state, "application/json");
  const jsonStateBlobId = input.jsonState ? await putBlob(tx, input.jsonState, "application/json") : null;
  const id = newId("sv");
  await tx.stateVersion.create({
    data: {
      id,
      workspaceId: input.workspaceId,
      runId: input.runId ?? null,
      status: "finalized",
      ...stateSummaryData(parsed, input.state, stateBlobId),
      jsonStateBlobId,
      force: input.force ?? false,
      createdById: input.createdById ?? null,
      outputs: { create: outputRows(parsed) },
    },
  });
  await makeCurrent(tx, input.workspaceId, id, parsed.resourceCount);
  return { id, created: true };
}

export type StateVersionRow = StateVersionModel & { organizationId: string; outputIds: string[] };

const rowInclude = {
  workspace: { select: { organizationId: true } },
  outputs: { select: { id: true }, orderBy: { name: "asc" } },
} as const;

function flatten(sv: StateVersionModel & { workspace: { organizationId: string }; outputs: { id: string }[] }): StateVersionRow {
  const { workspace, outputs, ...rest } = sv;
  return { ...rest, organizationId: workspace.organizationId, outputIds: outputs.map((o) => o.id) };
}

export async function findStateVersion(db: Db | Tx, id: string): Promise<StateVersionRow | null> {
  const sv = await db.stateVersion.findUnique({ where: { id }, include: rowInclude });
  return sv ? flatten(sv) : null;
}

export async function findCurrentStateVersion(db: Db | Tx, workspaceId: string): Promise<StateVersionRow | null> {
  const ws = await db.workspace.findUnique({ where: { id: workspaceId }, select: { currentStateVersionId: true } });
  return ws?.currentStateVersionId ? findStateVersion(db, ws.currentStateVersionId) : null;
}

/** Newest first (a forced push may go back in serial), with the total for pagination. */
export async function listStateVersions(
  db: Db | Tx,
  workspaceId: string,
  page: { offset: number; size: number },
): Promise<{ items: StateVersionRow[]; total: number }> {
  const [rows, total] = await Promise.all([
    db.stateVersion.findMany({
      where: { workspaceId },
      orderBy: [{ createdAt: "desc" }, { serial: "desc" }],
      skip: page.offset,
      take: page.size,
      include: rowInclude,
    }),
    db.stateVersion.count({ where: { workspaceId } }),
  ]);
  return { items: rows.map(flatten), total };
}

export async function readState(db: Db | Tx, id: string): Promise<Buffer | null> {
  const sv = await db.stateVersion.findUnique({ where: { id }, select: { stateBlobId: true } });
  if (!sv?.stateBlobId) return null;
  const blob = await getBlob(db as Tx, sv.stateBlobId);
  return blob?.data ?? null;
}

/** The JSON state (`terraform show -json` form), when the client uploaded it. */
export async function readJsonState(db: Db | Tx, id: string): Promise<Buffer | null> {
  const sv = await db.stateVersion.findUnique({ where: { id }, select: { jsonStateBlobId: true } });
  if (!sv?.jsonStateBlobId) return null;
  const blob = await getBlob(db as Tx, sv.jsonStateBlobId);
  return blob?.data ?? null;
}

export async function listOutputs(db: Db | Tx, stateVersionId: string): Promise<StateVersionOutputModel[]> {
  return db.stateVersionOutput.findMany({ where: { stateVersionId }, orderBy: { name: "asc" } });
}

/** One output with the workspace it belongs to (for access checks). */
export async function findOutput(
  db: Db | Tx,
  id: string,
): Promise<(StateVersionOutputModel & { workspaceId: string }) | null> {
  const o = await db.stateVersionOutput.findUnique({ where: { id }, include: { stateVersion: { select: { workspaceId: true } } } });
  if (!o) return null;
  const { stateVersion, ...rest } = o;
  return { ...rest, workspaceId: stateVersion.workspaceId };
}

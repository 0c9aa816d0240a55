import { createHash, randomUUID } from "node:crypto";
import { conflict, newId, notFound, unprocessable } from "@tarmac/domain";
import { executeRows, queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import type { StateVersionModel, StateVersionOutputModel } from "../generated/prisma/models";
import { getBlob } from "../blobs";
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
  // One statement. The versions deleted are not discarded too: a statement changes a row once.
  await executeRows(
    tx,
    Prisma.sql`WITH stale AS (
      DELETE FROM state_versions WHERE workspace_id = ${workspaceId} AND serial = ${serial} AND status <> 'finalized'
      RETURNING json_state_blob_id
    ), unused AS (
      DELETE FROM blobs WHERE id IN (SELECT json_state_blob_id FROM stale WHERE json_state_blob_id IS NOT NULL)
    )
    UPDATE state_versions SET status = 'discarded', updated_at = ${new Date()}
    WHERE workspace_id = ${workspaceId} AND status = 'pending' AND serial <> ${serial}`,
  );
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
  // Orders this create against other creates and uploads of the workspace's state. What follows
  // reads in statements of its own: one that waited for the lock would not see what the holder
  // committed meanwhile.
  if (!(await lockWorkspaceForUpdate(tx, input.workspaceId))) throw notFound();
  const [facts] = await queryRows<{ currentSerial: number | null; sameId: string | null; sameSha256: string | null }>(
    tx,
    Prisma.sql`SELECT (SELECT c.serial FROM workspaces w JOIN state_versions c ON c.id = w.current_state_version_id WHERE w.id = ${input.workspaceId}) AS "currentSerial",
      same.id AS "sameId", same.sha256 AS "sameSha256"
    FROM (SELECT 1) one LEFT JOIN LATERAL (
      SELECT sv.id, b.sha256 FROM state_versions sv LEFT JOIN blobs b ON b.id = sv.state_blob_id
      WHERE sv.workspace_id = ${input.workspaceId} AND sv.serial = ${parsed.serial} AND sv.status = 'finalized'
      ORDER BY sv.created_at DESC LIMIT 1
    ) same ON true`,
  );
  const sameId = facts?.sameId ?? null;
  if (sameId !== null && facts?.sameSha256 === sha256) return { id: sameId, created: false };
  if (sameId !== null && !input.force) {
    throw conflict(`The MD5 hash of the state provided does not match what is currently known for the same serial number (${parsed.serial}).`);
  }
  const currentSerial = facts?.currentSerial ?? null;
  if (!input.force && currentSerial !== null && parsed.serial <= currentSerial) {
    throw conflict(`serial ${parsed.serial} is not greater than the current state's serial ${currentSerial}`);
  }
  await releaseUnfinishedVersions(tx, input.workspaceId, parsed.serial);
  const id = newId("sv");
  await insertCurrentVersion(tx, id, input, parsed, sha256);
  return { id, created: true };
}

/**
 * One statement: the state's blob (and the JSON state's), the finalized version with its
 * summary and outputs, and the workspace pointed at it with its resource count.
 */
async function insertCurrentVersion(tx: Tx, id: string, input: CreateStateVersionInput, parsed: ParsedState, sha256: string): Promise<void> {
  const at = new Date();
  const summary = stateSummaryData(parsed, input.state, `blob-${randomUUID()}`);
  const json = input.jsonState ?? null;
  const jsonBlob = json
    ? Prisma.sql`, json_blob AS (
        INSERT INTO blobs (id, content_type, size, sha256, data)
        VALUES (${`blob-${randomUUID()}`}, 'application/json', ${json.length}, ${createHash("sha256").update(json).digest("hex")}, ${json})
        RETURNING id
      )`
    : Prisma.empty;
  const outputs = outputRows(parsed);
  await executeRows(
    tx,
    Prisma.sql`WITH state_blob AS (
      INSERT INTO blobs (id, content_type, size, sha256, data)
      VALUES (${summary.stateBlobId}, 'application/json', ${input.state.length}, ${sha256}, ${input.state})
      RETURNING id
    )${jsonBlob}, version AS (
      INSERT INTO state_versions (id, workspace_id, run_id, serial, lineage, status, md5, force, terraform_version,
        state_blob_id, json_state_blob_id, size, resources, modules, providers, resources_processed, created_by_id, created_at, updated_at)
      SELECT ${id}, ${input.workspaceId}, ${input.runId ?? null}, ${summary.serial}, ${summary.lineage}, 'finalized', ${summary.md5},
        ${input.force ?? false}, ${summary.terraformVersion}, state_blob.id, ${json ? Prisma.sql`(SELECT id FROM json_blob)` : Prisma.sql`NULL`},
        ${summary.size}, ${JSON.stringify(summary.resources)}::jsonb, ${JSON.stringify(summary.modules)}::jsonb,
        ${JSON.stringify(summary.providers)}::jsonb, true, ${input.createdById ?? null}, ${at}, ${at}
      FROM state_blob
      RETURNING id
    ), outputs AS (
      INSERT INTO state_version_outputs (id, state_version_id, name, sensitive, type, value)
      SELECT o.id, version.id, o.name, o.sensitive, o.type::jsonb, o.value::jsonb
      FROM version, unnest(${outputs.map((o) => o.id)}::text[], ${outputs.map((o) => o.name)}::text[], ${outputs.map((o) => o.sensitive)}::boolean[],
        ${outputs.map((o) => JSON.stringify(o.type))}::text[], ${outputs.map((o) => JSON.stringify(o.value))}::text[]) AS o(id, name, sensitive, type, value)
    )
    UPDATE workspaces SET current_state_version_id = version.id, resource_count = ${parsed.resourceCount}, updated_at = ${at}
    FROM version WHERE workspaces.id = ${input.workspaceId}`,
  );
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

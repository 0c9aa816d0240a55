import { Client } from "pg";
import { BASE58_ALPHABET, newId } from "@tarmac/domain";

export interface SeedInput {
  databaseUrl: string;
  organizationId: string;
  userId: string;
  /** The workspace the reads are benchmarked on: every tenth run lands there. */
  benchWorkspaceId: string;
  benchConfigurationVersionId: string;
  totalRuns: number;
  /** Other workspaces of the organization sharing the rest of the runs. */
  fillerWorkspaces: number;
}

export interface SeedResult {
  seconds: number;
  benchWorkspaceRuns: number;
  organizationRuns: number;
  phaseRows: number;
  /** A run of the benchmarked workspace (the one GET /runs/:id reads). */
  sampleRunId: string;
}

/** SQL for the n-th seeded id suffix: "BenchSeed" + n in 7 base58 digits (ids must look minted: isId checks them). */
function suffixSql(n: string): string {
  const digits: string[] = [];
  for (let k = 6; k >= 0; k--) digits.push(`substr('${BASE58_ALPHABET}', ((${n} / ${58 ** k}::bigint) % 58)::int + 1, 1)`);
  return `'BenchSeed' || ${digits.join(" || ")}`;
}

const RFC3339 = `'YYYY-MM-DD"T"HH24:MI:SS"Z"'`;
const at = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', ${RFC3339})`;

/**
 * Fills the organization with finished runs, set-based (INSERT … SELECT generate_series), gives
 * the benchmarked workspace's runs their plans and applies (what the reads touch), then VACUUM (ANALYZE). Runs are interleaved across workspaces in creation order,
 * as a busy organization's are, so a workspace's runs are spread over the whole table.
 */
export async function seedRuns(input: SeedInput): Promise<SeedResult> {
  const started = Date.now();
  const c = new Client({ connectionString: input.databaseUrl });
  await c.connect();
  const mark = (what: string) => {
    if (process.env.BENCH_DEBUG) console.error(`  seed: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  try {
    await c.query("SET synchronous_commit = off");
    await c.query("SET maintenance_work_mem = '256MB'");
    // Values are valid by construction: skip per-row foreign-key triggers (superuser only) and
    // build the secondary indexes once at the end instead of maintaining them row by row.
    await c.query("SET session_replication_role = replica");
    const dropped = await c.query<{ name: string; def: string }>(
      `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
       WHERE i.schemaname = 'public' AND i.tablename IN ('runs', 'plans', 'applies')
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)`,
    );
    for (const idx of dropped.rows) await c.query(`DROP INDEX "${idx.name}"`);
    const fillerWs: string[] = [];
    const fillerCv: string[] = [];
    for (let i = 0; i < input.fillerWorkspaces; i++) {
      fillerWs.push(newId("ws"));
      fillerCv.push(newId("cv"));
    }
    await c.query(
      `INSERT INTO workspaces (id, organization_id, name, updated_at)
       SELECT w, $1, 'filler-' || lpad(i::text, 3, '0'), now() FROM unnest($2::text[]) WITH ORDINALITY AS t(w, i)`,
      [input.organizationId, fillerWs],
    );
    await c.query(
      `INSERT INTO configuration_versions (id, workspace_id, status, updated_at)
       SELECT cv, ws, 'uploaded', now() FROM unnest($1::text[], $2::text[]) AS t(cv, ws)`,
      [fillerCv, fillerWs],
    );
    const n = "g.n";
    const ts = `now() - ((${input.totalRuns} + 1 - ${n}) * interval '3 seconds')`;
    const status = `CASE WHEN ${n} % 50 = 1 THEN 'errored' WHEN ${n} % 50 = 2 THEN 'planned_and_finished' WHEN ${n} % 50 = 3 THEN 'discarded' ELSE 'applied' END`;
    const fillers = input.fillerWorkspaces;
    await c.query(
      `INSERT INTO runs (id, organization_id, workspace_id, configuration_version_id, status, status_timestamps,
                         status_changed_at, operation, terraform_version, has_changes, created_by_id, created_at, updated_at)
       SELECT 'run-' || ${suffixSql(n)}, $1,
              CASE WHEN ${n} % 10 = 0 THEN $2 ELSE ($3::text[])[(${n} % ${fillers}) + 1] END,
              CASE WHEN ${n} % 10 = 0 THEN $4 ELSE ($5::text[])[(${n} % ${fillers}) + 1] END,
              (${status})::"RunStatus",
              jsonb_build_object('plan-queueable-at', ${at(ts)}, 'planning-at', ${at(`${ts} + interval '1 second'`)},
                                 'planned-at', ${at(`${ts} + interval '20 seconds'`)},
                                 (CASE WHEN ${n} % 50 = 1 THEN 'errored' WHEN ${n} % 50 = 2 THEN 'planned-and-finished'
                                       WHEN ${n} % 50 = 3 THEN 'discarded' ELSE 'applied' END) || '-at',
                                 ${at(`${ts} + interval '40 seconds'`)}),
              ${ts} + interval '40 seconds', 'plan_and_apply', '1.9.8', true, $6, ${ts}, ${ts} + interval '40 seconds'
       FROM generate_series(1, ${input.totalRuns}) AS g(n)`,
      [input.organizationId, input.benchWorkspaceId, fillerWs, input.benchConfigurationVersionId, fillerCv, input.userId],
    );
    mark("runs inserted");
    // The triggers that keep the workspaces' run counters did not fire (replica role): count here.
    await c.query(
      `INSERT INTO workspace_run_counts AS c (workspace_id, shard, visible_runs, runs_ahead)
       SELECT workspace_id, 0, count(*) FILTER (WHERE NOT plan_only), count(*) FILTER (WHERE run_waits_in_queue(plan_only, save_plan, status))
       FROM runs WHERE workspace_id = ANY ($1::text[]) GROUP BY workspace_id
       ON CONFLICT (workspace_id, shard) DO UPDATE SET visible_runs = EXCLUDED.visible_runs, runs_ahead = EXCLUDED.runs_ahead`,
      [[input.benchWorkspaceId, ...fillerWs]],
    );
    const plans = await c.query(
      `INSERT INTO plans (id, run_id, status, status_timestamps, has_changes, resource_additions, started_at, finished_at, created_at, updated_at)
       SELECT 'plan-' || substr(r.id, 5), r.id, CASE WHEN r.status = 'errored' THEN 'errored' ELSE 'finished' END::"PhaseStatus",
              jsonb_build_object('queued-at', r.status_timestamps->>'plan-queueable-at', 'started-at', r.status_timestamps->>'planning-at',
                                 'finished-at', r.status_timestamps->>'planned-at'),
              true, 1, r.created_at + interval '1 second', r.created_at + interval '20 seconds', r.created_at, r.updated_at
       FROM runs r WHERE r.workspace_id = $1`,
      [input.benchWorkspaceId],
    );
    const applies = await c.query(
      `INSERT INTO applies (id, run_id, status, status_timestamps, resource_additions, started_at, finished_at, created_at, updated_at)
       SELECT 'apply-' || substr(r.id, 5), r.id, CASE WHEN r.status = 'applied' THEN 'finished' ELSE 'unreachable' END::"PhaseStatus",
              CASE WHEN r.status = 'applied' THEN jsonb_build_object('finished-at', r.status_timestamps->>'applied-at') ELSE '{}'::jsonb END,
              CASE WHEN r.status = 'applied' THEN 1 ELSE 0 END, NULL, NULL, r.created_at, r.updated_at
       FROM runs r WHERE r.workspace_id = $1`,
      [input.benchWorkspaceId],
    );
    mark("phases inserted");
    // Two at a time: the machine has two cores and index builds are CPU-bound.
    const defs = dropped.rows.map((r) => r.def);
    const builders = [0, 1].map(async () => {
      const b = new Client({ connectionString: input.databaseUrl });
      await b.connect();
      try {
        await b.query("SET maintenance_work_mem = '256MB'");
        await b.query("SET max_parallel_maintenance_workers = 0");
        for (let def = defs.shift(); def !== undefined; def = defs.shift()) await b.query(def);
      } finally {
        await b.end();
      }
    });
    await Promise.all(builders);
    mark("indexes built");
    await c.query("SET session_replication_role = origin");
    // VACUUM too: a long-lived database has its visibility map set (autovacuum), which index-only scans need.
    await c.query("VACUUM (ANALYZE) runs, plans, applies, workspaces, configuration_versions");
    // And a checkpoint: the seed writes about a gigabyte of WAL, and the checkpoints it triggers
    // would otherwise write its pages out, with their fsyncs, while the scenarios are measured
    // (commits stalled for up to 260 ms in 3b). A long-lived database flushed them long ago.
    await c.query("CHECKPOINT");
    const counts = await c.query<{ ws: string; org: string }>(
      "SELECT count(*) FILTER (WHERE workspace_id = $1) AS ws, count(*) AS org FROM runs WHERE organization_id = $2",
      [input.benchWorkspaceId, input.organizationId],
    );
    const sample = await c.query<{ id: string }>(
      "SELECT id FROM runs WHERE workspace_id = $1 AND status = 'applied' ORDER BY seq DESC OFFSET 1000 LIMIT 1",
      [input.benchWorkspaceId],
    );
    return {
      seconds: (Date.now() - started) / 1000,
      benchWorkspaceRuns: Number(counts.rows[0]!.ws),
      organizationRuns: Number(counts.rows[0]!.org),
      phaseRows: (plans.rowCount ?? 0) + (applies.rowCount ?? 0),
      sampleRunId: sample.rows[0]!.id,
    };
  } finally {
    await c.end();
  }
}

/**
 * What limits each target when it is missed: diagnoses from reading the code, SQL statement logs
 * and CPU profiles of the gateway under these benchmarks, with the product change that would
 * address it. `match` is the start of "<scenario> <metric>" of a table row.
 */
const READ_PATH =
  "The gateway is CPU-bound: one `GET /runs/:id` runs 16 SQL statements (the baseline: 1), each planned by Prisma's WASM query compiler (about a third of the gateway's CPU in a profile): " +
  "4 for the token (`auth.findTokenOwner` includes user, team and organization, and Prisma loads each relation, even a null one, with its own query), " +
  "7 for `loadWorkspaceForPrincipal` (the full workspace view: organization, current run, locked-by user and team, latest run; the access check needs the workspace's organization only), " +
  "2 for `organizationRole`, 3 for `runsRead.loadRunExtras` (cost estimate, comments, run events). " +
  "Product changes: resolve the token with one joined query (raw SQL, or `relationLoadStrategy: \"join\"`) and cache token → owner in-process for a few seconds; " +
  "load only `{id, organizationId}` of the run's workspace for the access check; fetch the three run extras in one statement (three `array_agg` subselects). That is 16 → about 5 statements.";

export const ANALYSIS: { match: string; title: string; why: string }[] = [
  { match: "1. GET /runs/:id", title: "GET /runs/:id", why: READ_PATH },
  {
    match: "1. GET /workspaces/:id/runs",
    title: "GET /workspaces/:id/runs",
    why:
      "On top of the per-request overhead of `GET /runs/:id`, every page counts its total: `listWorkspaceRuns` runs `count(*)` over the workspace's runs with `plan_only = false`, and no index holds `plan_only`, so each request reads all 100,000 of the workspace's runs from the heap: 62,500 pages, the whole 1,000,000-row table (EXPLAIN ANALYZE: 380–640 ms per count on this machine; the page itself takes 0.3 ms). " +
      "Product change: a partial index `CREATE INDEX runs_workspace_id_seq_visible_idx ON runs (workspace_id, seq DESC) WHERE plan_only = false;` makes the count an index-only scan (measured 43 ms, 605 pages) and serves the page too; to reach the target the total must not be counted per request at all: a per-workspace run counter maintained with the run insert, or a count capped at a few pages.",
  },
  {
    match: "2. POST /runs",
    title: "POST /runs",
    why:
      "One `POST /runs` runs about 27 SQL statements against the bare insert's 1 (statement log): the read path's 13 before any write (token 4, workspace view and access 9), the configuration version, the workspace again, then the transaction (run, plan, apply, workspace's latest configuration version, run event, outbox row) and the run document's 3 extras; each goes through Prisma's query compiler on the gateway's one CPU-bound event loop. " +
      "Product changes: the read-path changes above (about 10 statements fewer), and build the response from the rows just written instead of re-reading the extras of a run that has none.",
  },
  {
    match: "3. Pipeline runs completed",
    title: "Pipeline throughput",
    why:
      "On two cores the pipeline shares the CPU with terraform: per run it adds two BullMQ jobs, about seven status transitions (each a transaction with an outbox row, relayed to JetStream and consumed by the scheduler), the job-file transfers through the gateway (configuration download, plan file, JSON plan, logs, state) and sandbox set-up, all in the same two cores the floor has to itself.",
  },
  {
    match: "3. Pipeline scheduling latency",
    title: "Pipeline scheduling latency",
    why:
      "With 100 workspaces always holding a next run, the next run waits for an organization slot (run concurrency 10: it goes `queuing`) and then for one of the worker's 4 plan slots: the figure is mostly capacity queueing, not scheduling. The row 'leaves pending' is the scheduler's own reaction; its share is event transport (outbox relay poll, JetStream, consumer) plus the workspace transaction.",
  },
  {
    match: "4. Events",
    title: "Events",
    why:
      "The outbox relay (`packages/events/src/outbox-relay.ts`) polls every 100 ms when the outbox is empty, so a status change waits 0–100 ms (50 ms on average) before it is published. " +
      "Product change: wake the relay on commit with LISTEN/NOTIFY (`pg_notify('tarmac_outbox', '')` in `enqueueOutbox`, delivered at commit; the relay LISTENs on a dedicated connection and keeps the poll as a fallback), or at least wake the gateway's own relay right after its own commits.",
  },
  {
    match: "5",
    title: "Memory",
    why:
      "The target is missed before any work: the figure in parentheses is the RSS of a freshly started process, already above or near 200 MB for the gateway and the scheduler. The apps run TypeScript through tsx (as the Dockerfile does), so the transpiler and every module's source and source map stay resident, next to the OpenTelemetry SDK and its instrumentations and Prisma's WASM query compiler; the rest is heap growth under load. " +
      "Not profiled further here; the first experiments: run compiled JavaScript (`node dist/main.js`), load the telemetry SDK only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and take a heap snapshot of a loaded scheduler.",
  },
];

/**
 * What limits each target when it is missed: diagnoses from the code as of this file's last
 * change (statement logs, EXPLAIN ANALYZE and CPU profiles taken while writing these benchmarks),
 * with the product change that would address it. `match` is the start of "<scenario> <metric>".
 */
export const ANALYSIS: { match: string; title: string; why: string }[] = [
  {
    match: "1. GET /runs/:id",
    title: "GET /runs/:id",
    why:
      "Since the read-path changes of 00:15–00:23 (token owners cached in-process, access and run in one statement, the document's relations in one), a request runs 2 SQL statements against the baseline's 1 (statement log), so the database is no longer the limit: the single gateway process is CPU-bound on the machine's two cores, which it shares with wrk and PostgreSQL (express, the JSON:API run document, Prisma's WASM query compiler, which took about a third of the gateway's CPU in an earlier profile), and at 50 connections p99 is queueing in that one event loop. " +
      "Levers: a second gateway process (two replicas or node cluster) so requests use both cores, and a fresh CPU profile of this endpoint to find what is left per request.",
  },
  {
    match: "1. GET /workspaces/:id/runs",
    title: "GET /workspaces/:id/runs",
    why:
      "A page runs 4 statements (workspace access, the total, the page, the relations). The total is now an index-only count over `runs_workspace_id_seq_visible_idx` (migration 20261128000000): about 43 ms for the workspace's 100,000 runs in EXPLAIN ANALYZE on this machine, against 380–640 ms from the heap before; the page itself takes 0.3 ms. Counting 100,000 index entries on every request still cannot give a p99 under 50 ms at 50 connections on two cores. " +
      "Product change: do not count per request: keep a per-workspace run counter (maintained in the run-creation transaction), or count at most a few pages and report the rest as an estimate.",
  },
  {
    match: "2. POST /runs",
    title: "POST /runs",
    why:
      "A creation runs 17 SQL statements against the bare insert's 1 (statement log): the full workspace view (8 reads: organization, current run, locked-by team and user, latest run, owners' team…), the configuration version, the workspace again, then run, plan, apply, workspace update, run event and outbox writes, and the run document; each statement goes through Prisma's query compiler in the CPU-bound gateway. " +
      "Product change: check access with the workspace's id and organization only (as the run reads and the run list now do: 8 → 1 statements), and build the response from the rows just written.",
  },
  {
    match: "3. Pipeline runs completed",
    title: "Pipeline throughput",
    why:
      "On two cores the pipeline shares the CPU with terraform: per run it adds two BullMQ jobs, about seven status transitions (each a transaction with an outbox row, relayed to JetStream and consumed by the scheduler), the job-file transfers through the gateway (configuration download, plan file, JSON plan, logs, state) and sandbox set-up, all on the cores the floor has to itself.",
  },
  {
    match: "3. Pipeline scheduling latency",
    title: "Pipeline scheduling latency",
    why:
      "With 100 workspaces always holding a next run, that run waits for an organization slot (run concurrency 10: it goes `queuing`) and then for one of the worker's 4 plan slots, so final → planning is mostly capacity queueing, not scheduling. The row 'leaves pending' is the scheduler's own reaction; its share is event transport (outbox relay, JetStream, durable consumer) and the workspace transaction, on two cores saturated by terraform. " +
      "To measure the scheduler alone the capacity must exceed the workspaces (organization run concurrency ≥ 100 and enough workers), which this machine cannot run.",
  },
  {
    match: "4. Events",
    title: "Events",
    why:
      "The outbox relay wakes on commit (LISTEN/NOTIFY, since 00:18) instead of polling every 100 ms; what remains is the relay's claim transaction and the acknowledged JetStream publish, run inside the gateway process that also serves requests, on a machine whose load average was well above its two cores. " +
      "Lever: run the relay in its own process (`TARMAC_OUTBOX_RELAY=off` on the gateways plus one relay process) so a busy event loop does not delay it.",
  },
  {
    match: "5",
    title: "Memory",
    why:
      "The target is missed before any work: the figure in parentheses is the RSS of a freshly started process, already above or near 200 MB for the gateway and the scheduler. The apps run TypeScript through tsx (as the Dockerfile does), so the transpiler and every module's source and source map stay resident, next to the OpenTelemetry SDK and its instrumentations and Prisma's WASM query compiler; the rest is heap growth under load. " +
      "Not profiled further here; the first experiments: run compiled JavaScript (`node dist/main.js`), load the telemetry SDK only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and take a heap snapshot of a loaded scheduler.",
  },
];

/**
 * What limits each target when it is missed: diagnoses from the code as of this file's last
 * change (CPU profiles from BENCH_CPU_PROF, statement counts), with the product change that
 * would address it. `match` is the start of "<scenario> <metric>".
 */
export const ANALYSIS: { match: string; title: string; why: string }[] = [
  {
    match: "1. GET /runs/:id",
    title: "GET /runs/:id",
    why:
      "A request runs 2 statements (the run, the document's extras), both on node-postgres directly (queryRows) since Prisma's query compiler was about 40% of the gateway's busy CPU. CPU per request is the measure to trust on a shared machine; the baseline's own p99 shows how much of a latency miss is the machine (wrk, PostgreSQL and every other process share two cores). " +
      "Levers left: several gateway processes (node cluster) so requests use both cores, and a profile of express routing and the JSON:API document.",
  },
  {
    match: "1. GET /workspaces/:id/runs",
    title: "GET /workspaces/:id/runs",
    why:
      "A page runs 4 statements (workspace scope, the counter the triggers of migration 20261201_0500_workspace_run_counts keep, the page, the document extras), all on node-postgres directly: no count of the workspace per request any more. A latency miss next to a similar baseline p99 is the machine's load, not the list.",
  },
  {
    match: "2. POST /runs",
    title: "POST /runs",
    why:
      "A creation is three statements on node-postgres, none through Prisma: the workspace row, the configuration version, and the write (run, plan, apply, workspace, run event, outbox row, NOTIFY, queue position) as one statement outside any transaction; the document's extras come from that write. " +
      "A workspace with run tasks still writes in a transaction (its stages). What is left is express, zod and the JSON:API document; on this shared machine a throughput miss next to a met CPU target is the machine.",
  },
  {
    match: "3. Pipeline runs completed",
    title: "Pipeline throughput",
    why:
      "On two cores the pipeline shares the CPU with terraform: per run it adds two BullMQ jobs, about seven status transitions (each a transaction with an outbox row, relayed to JetStream and consumed by the scheduler), the job-file transfers through the gateway and sandbox set-up, all on the cores the floor has to itself.",
  },
  {
    match: "3. Pipeline scheduling latency",
    title: "Pipeline scheduling latency",
    why:
      "With 100 workspaces always holding a next run, that run waits for an organization slot (run concurrency 10: it goes `queuing`) and then for one of the worker's 4 plan slots, so final → planning is mostly capacity queueing, not scheduling; the row 'leaves pending' is the scheduler's own reaction. " +
      "Scenario 3b, where capacity exceeds demand, measures the scheduler alone.",
  },
  {
    match: "3b. Scheduling",
    title: "Scheduling latency (capacity > demand)",
    why:
      "Outbox timestamps of a kept run show where final → planning goes (load ~20): the apply's `finished` transaction (status applied, phases settled, the next run moved to plan_queued, about 15 Prisma statements in one interactive transaction) takes 300–400 ms between its first and last status write; then the BullMQ job reaches the worker, which confirms its NATS signal subscription, opens the live log and publishes `started` (acknowledged), which the scheduler consumes and records as `planning`: another 450–700 ms. " +
      "No poll interval is on this path (every hop is an event); the time is round trips, each slowed by a run queue of ~10 per core. Levers left: the scheduler's transactions past Prisma (queryRows, as run creation), and the worker reporting `started` without waiting for the flush first.",
  },
  {
    match: "4. Events",
    title: "Events",
    why:
      "The outbox relay now runs in the scheduler (no longer behind the gateway's request loop) and wakes on commit (LISTEN/NOTIFY); what remains is its claim transaction and the acknowledged JetStream publish. During the pipeline the scheduler's event loop and the machine's two cores are shared with terraform; a relay process of its own is the next step if the scheduler's loop is the limit.",
  },
  {
    match: "5",
    title: "Memory",
    why:
      "The apps run compiled (no tsx), with 2 MB semi-spaces and a 384 MB old generation (APP_NODE_FLAGS), at most two glibc malloc arenas (MALLOC_ARENA_MAX=2), and Prisma's query compiler (WebAssembly) on V8's baseline code only: TurboFan's recompilations of it left 15–30 MB in per-thread malloc arenas. The compiler's 2.6 MB base64 source is released once compiled, and the bundles' source maps carry no sources. Of a fresh gateway's ~107 MB, ~41 MB are the node binary's pages, ~45 MB V8's heap (module sources, code, the bundle's source map), ~13 MB malloc (the compiled WebAssembly among it). " +
      "'Fresh' is read just after the restart for scenario 3 (ready, settled 5 s); the reading after its setup (100 workspaces created and their configurations uploaded) is shown as well. `npx tsx bench/fresh-memory.ts` prints the same breakdown for just-booted processes.",
  },
];

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
      "A request is one statement (the run with everything its document shows, prepared once per connection), on node-postgres past Prisma, and enters only the routers serving `/runs` (http/segment-routing.ts). " +
      "What is left in the gateway's profile: socket writes (`writev`, one for the statement and one for the answer, as the bare server's), garbage collection, express's router and the tracing context every request carries (trace ids reach logs and outbox rows). CPU per request is the measure to trust on a shared machine; the baseline's own p99 shows how much of a latency miss is the machine (wrk, PostgreSQL and every other process share two cores)",
  },
  {
    match: "1. GET /workspaces/:id/runs",
    title: "GET /workspaces/:id/runs",
    why:
      "The default page is one statement (its runs, their documents' extras and the workspace's total from the counter that the triggers of migration 20261201_0500_workspace_run_counts keep): no count of the workspace per request. " +
      "What is left: the JSON:API document of 20 runs (JSON.stringify and the garbage it makes), express re-parsing the query string, and the routers of `/workspaces`. A latency miss next to a similar baseline p99 is the machine's load, not the list",
  },
  {
    match: "2. POST /runs",
    title: "POST /runs",
    why:
      "A creation is three prepared statements on node-postgres, none through Prisma: the workspace row, the configuration version, and the write (run, plan, apply, run event, outbox row, queue position; the workspace row only when its latest configuration version changes) as one statement outside any transaction, its relays woken after the commit; the document's extras come from that write. " +
      "A workspace with run tasks still writes in a transaction (its stages). What is left in the gateway is express, zod and the JSON:API document. The rate is CPU: the two cores are shared by PostgreSQL (about 2.25 CPU-ms per creation: the write's five rows with their indexes and the run counters' shard, the relay's rounds, the scheduler's read), the gateway (about 1.9), the scheduler (about 1.25: its outbox relay and its consumer of run.created), NATS (about 0.45) and wrk, where a bare insert is one row and one handler (about 2 in all). The queue position is read from the workspace's counter of waiting runs (at most 16 shard rows, kept by triggers on runs), however long its queue. Creations in one workspace no longer wait for each other (run counter in shards, no workspace update when nothing changes).",
  },
  {
    match: "3. Pipeline runs completed",
    title: "Pipeline throughput",
    why:
      "On two cores the pipeline shares the CPU with terraform: the row 'CPU-ms per completed run' shows what each part costs per run next to the double's own CPU. " +
      "Per run the worker spawns terraform six times (each spawn forks the worker, synchronously: in perf over 20 s of the pipeline, 9% of the worker's CPU and 0.6% of the machine's, while the test doubles, a node process per invocation, took about 72%); the scheduler handles about seven status transitions (each a transaction with an outbox row, relayed to JetStream), the gateway a dozen job requests (files in and out), PostgreSQL their statements. A floor run on a loaded machine is itself slowed: compare runs at the same load",
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
      "Timestamps of kept runs (load ~17) put final → planning at about 95 ms in four hops of 20–50 ms: the worker's finished → applied, applied → the next run plan_queued (enqueued first, one BullMQ add), plan_queued → the worker's started (published without waiting for its NATS flush or the live log's reset), started → planning. " +
      "The largest is the last: the started event waits for the workspace lock that the ended run's own status event holds while it settles that run (10–60 ms under load; since the fifteenth round of bench/README.md the scheduler's transactions open and commit on a pool client, not through Prisma's interactive transaction, which held the lock about 0.2–0.4 ms longer each and cost twice the CPU). Every hop is an event, no poll interval; under load each round trip waits in a run queue of several processes per core",
  },
  {
    match: "4. Events",
    title: "Events",
    why:
      "The commit is taken as a LISTEN client in the benchmark sees it: every commit with an outbox row NOTIFYs, and that client then reads which rows became visible. The relay runs in a thread of the scheduler with its own event loop, database and NATS connections, wakes on the same NOTIFY, claims and marks in two round trips and overlaps up to three rounds. " +
      "During the pipeline the two cores are shared with terraform (at niceness 10), PostgreSQL and the apps, so each of the relay's round trips (claim, publish, JetStream's acknowledgement) and the subscriber's delivery can wait in a run queue; before the thread, the relay shared the scheduler's event loop and this p99 was about twice as high. The row written → subscriber figure adds the rest of the writing transaction, mostly the scheduler's transitions, whose statements each take a round trip through the scheduler's busy event loop",
  },
  {
    match: "5",
    title: "Memory",
    why:
      "The apps run compiled (no tsx), with 2 MB semi-spaces and a 384 MB old generation (APP_NODE_FLAGS), at most two glibc malloc arenas (MALLOC_ARENA_MAX=2), and Prisma's query compiler (WebAssembly) on V8's baseline code only: TurboFan's recompilations of it left 15–30 MB in per-thread malloc arenas. The compiler's 2.6 MB base64 source is released once compiled, and the bundles' source maps carry no sources. Of a fresh gateway's ~107 MB, ~41 MB are the node binary's pages, ~45 MB V8's heap (module sources, code, the bundle's source map), ~13 MB malloc (the compiled WebAssembly among it). " +
      "'Fresh' is read just after the restart for scenario 3 (ready, settled 5 s); the reading after its setup (100 workspaces created and their configurations uploaded) is shown as well. `npx tsx bench/fresh-memory.ts` prints the same breakdown for just-booted processes.",
  },
];

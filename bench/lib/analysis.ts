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
      "A creation reads the workspace row and the configuration version through Prisma, writes the run, plan, apply, workspace, run event and outbox row in one statement inside Prisma's interactive transaction (BEGIN, the statement, COMMIT), then reads the document's extras and queue position. " +
      "Levers left: the two reads through queryRows, the write as one statement without the interactive transaction, and the queue position from the rows just written.",
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
      "A scenario where capacity exceeds demand (organization concurrency ≥ workspaces, enough worker slots) is what would measure the scheduler alone; it is not built yet.",
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
      "The apps run compiled (no tsx) and load no OpenTelemetry SDK without an exporter; the worker loads no Prisma or pg. The 'fresh' figure is taken at the start of scenario 3, after its setup (100 workspaces created and their configurations uploaded through the restarted gateway), so it already holds that work. " +
      "Not profiled further: Prisma's client with its WebAssembly query compiler is the largest resident part of the gateway and the scheduler; a heap snapshot of each is the next step.",
  },
];

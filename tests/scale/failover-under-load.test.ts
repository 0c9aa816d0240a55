import { Client } from "pg";
import { Cluster } from "ioredis";
import { liveLogKey } from "@tarmac/contracts";
import { waitFor, type ApiClient } from "@tarmac/testing";
import { FINAL_STATUSES, NULL_RESOURCE, Tfe } from "../e2e/stack";
import { startScaleStack, type ScaleStack } from "./scale-stack";

/**
 * The scale-out topology under load, losing one Redis primary and one NATS server mid-run:
 * 2 gateways, 2 schedulers, 3 workers on a 6-node Redis Cluster, a 3-node JetStream cluster
 * (stream at R3) and PgBouncer in transaction mode. Hundreds of auto-apply runs over tens of
 * workspaces must all apply, none errored, each workspace's runs one at a time in creation order.
 */

const WORKSPACES = 20;
const RUNS_PER_WORKSPACE = 10;
const TOTAL = WORKSPACES * RUNS_PER_WORKSPACE;

let stack: ScaleStack;
let db: Client;

beforeAll(async () => {
  stack = await startScaleStack({ gateways: 2, schedulers: 2, workers: 3 });
  db = new Client({ connectionString: stack.pg.directUrl });
  await db.connect();
}, 300_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function appliedCount(): Promise<number> {
  const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM runs WHERE status = 'applied'");
  return Number(rows[0]!.n);
}

interface RunView {
  id: string;
  status: string;
  createdAt: number;
  queuedAt: number;
  appliedAt: number;
  /** When it reached its final status, whichever that was. */
  endedAt: number;
  timestamps: Record<string, string>;
  planId?: string;
  applyId?: string;
}

async function runsOf(api: ApiClient, wsId: string): Promise<RunView[]> {
  const res = await api.get(`/workspaces/${wsId}/runs?page%5Bsize%5D=100`);
  expect(res.status).toBe(200);
  return (res.body.data as any[]).map((r) => {
    const ts = r.attributes["status-timestamps"] as Record<string, string>;
    const at = (k: string) => (ts[k] ? Date.parse(ts[k]) : NaN);
    return {
      id: r.id as string,
      status: r.attributes.status as string,
      createdAt: Date.parse(r.attributes["created-at"] as string),
      queuedAt: Math.min(...["plan-queued-at", "planning-at"].map(at).filter((t) => !Number.isNaN(t))),
      appliedAt: at("applied-at"),
      endedAt: Math.max(...["applied-at", "errored-at", "canceled-at", "discarded-at", "force-canceled-at", "planned-and-finished-at"].map(at).filter((t) => !Number.isNaN(t))),
      timestamps: ts,
      planId: r.relationships?.plan?.data?.id as string | undefined,
      applyId: r.relationships?.apply?.data?.id as string | undefined,
    };
  });
}

it(`applies ${TOTAL} runs over ${WORKSPACES} workspaces through a Redis primary's and a NATS server's loss`, async () => {
  const [api1, api2] = stack.apis as [ApiClient, ApiClient];
  const tfes = [new Tfe(api1), new Tfe(api2)];
  const tfe = (i: number) => tfes[i % tfes.length]!;

  // Workspaces and their configurations, spread over both gateways.
  const workspaces = await Promise.all(
    Array.from({ length: WORKSPACES }, async (_, i) => {
      const { wsId } = await tfe(i).createWorkspace({ "auto-apply": true });
      const cvId = await tfe(i + 1).upload(wsId, { "main.tf": NULL_RESOURCE });
      return { wsId, cvId };
    }),
  );

  // A live log, written by a worker and read by a gateway, both through the cluster.
  const slow = await tfe(0).createWorkspace({ "auto-apply": true });
  const slowCv = await tfe(0).upload(slow.wsId, { "main.tf": NULL_RESOURCE, "terraform-double.json": JSON.stringify({ plan: { seconds: 4 } }) });
  const slowRun = await tfe(1).createRun(slow.wsId, slowCv);
  const planning = await tfe(1).waitForStatus(slowRun, "planning", 120_000);
  const planId = planning.relationships.plan.data.id as string;
  const liveRead = await waitFor(
    async () => {
      const plan = await api2.get(`/plans/${planId}`);
      const bytes = Buffer.from(await (await fetch(plan.body.data.attributes["log-read-url"] as string)).arrayBuffer());
      return bytes.length > 0 ? bytes : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: "live log bytes while planning" },
  );
  expect(liveRead[0]).toBe(0x02); // STX: the start of a log, served from the worker's live Redis key

  // Runs: each workspace's in creation order, one every 3 s per workspace so intake spans the
  // failovers, over both gateways. Each run after the first replaces the resource, so every plan
  // has changes and every run applies.
  const started = Date.now();
  const created: string[][] = workspaces.map(() => []);
  const creationErrors: string[] = [];
  const creating = Promise.all(
    workspaces.map(async ({ wsId, cvId }, w) => {
      for (let k = 0; k < RUNS_PER_WORKSPACE; k++) {
        try {
          const replace = k > 0 ? { "replace-addrs": ["null_resource.a"] } : {};
          created[w]!.push(await tfe(w + k).createRun(wsId, cvId, { message: `scale ${k}`, ...replace }));
        } catch (err) {
          creationErrors.push(`${wsId} run ${k}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`);
        }
        await sleep(3_000);
      }
    }),
  );

  // Mid-run: the Redis primary holding the queues' slot, then the stream's NATS leader.
  await waitFor(async () => ((await appliedCount()) >= TOTAL * 0.2 ? true : undefined), { timeoutMs: 600_000, intervalMs: 250, what: "a fifth of the runs applied" });
  const queueSlotKey = `{${stack.queuePrefix}}`;
  const redisVictim = await stack.redis.primaryFor(queueSlotKey);
  const redisKilledAt = Date.now();
  await redisVictim.server.stop(true);
  // Until the replica is promoted, the cluster still names the dead primary.
  await waitFor(async () => ((await stack.redis.primaryFor(queueSlotKey).catch(() => redisVictim)) !== redisVictim ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: "a replica promoted",
  });
  await stack.redis.waitHealthy(60_000);
  const redisFailover = Date.now() - redisKilledAt;

  await waitFor(async () => ((await appliedCount()) >= TOTAL * 0.5 ? true : undefined), { timeoutMs: 600_000, intervalMs: 250, what: "half of the runs applied" });
  const natsVictim = await stack.nats.streamLeader(stack.streamName);
  expect(natsVictim).toBeDefined();
  const natsKilledAt = Date.now();
  await natsVictim!.server.stop(true);
  await waitFor(
    async () => {
      const leader = await stack.nats.streamLeader(stack.streamName).catch(() => undefined);
      return leader && leader.name !== natsVictim!.name ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: "a new stream leader" },
  );
  const natsFailover = Date.now() - natsKilledAt;

  await creating;
  expect(creationErrors).toEqual([]);

  // Every run ends; one that never does is counted lost below.
  await waitFor(
    async () => {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM runs WHERE status = ANY($1::"RunStatus"[]) AND workspace_id <> $2`, [FINAL_STATUSES, slow.wsId]);
      return Number(rows[0]!.n) >= TOTAL ? true : undefined;
    },
    { timeoutMs: 600_000, intervalMs: 500, what: "every run to end" },
  ).catch(() => undefined);
  const elapsed = Date.now() - started;

  // The verdict, over the API.
  let lost = 0;
  let errored = 0;
  let orderingViolations = 0;
  const all: RunView[] = [];
  for (const [w, { wsId }] of workspaces.entries()) {
    const runs = (await runsOf(stack.apis[w % 2]!, wsId)).sort((a, b) => a.createdAt - b.createdAt);
    all.push(...runs);
    lost += created[w]!.filter((id) => !runs.some((r) => r.id === id && FINAL_STATUSES.includes(r.status))).length;
    errored += runs.filter((r) => FINAL_STATUSES.includes(r.status) && r.status !== "applied").length;
    for (let i = 1; i < runs.length; i++) {
      const [prev, next] = [runs[i - 1]!, runs[i]!];
      // One at a time, in creation order: the next run is queued only once the previous ended.
      if (!(next.endedAt > prev.endedAt) || !(next.queuedAt >= prev.endedAt)) orderingViolations++;
    }
  }
  // Recovery, two ways: the first run queued after a kill that then applied (a whole plan and
  // apply through the new topology), and the longest pause between two applied runs anywhere
  // across the deployment from just before a kill to 30 s after it, next to the usual pause.
  const recovered = (killedAt: number) => Math.min(...all.filter((r) => r.queuedAt >= killedAt && !Number.isNaN(r.appliedAt)).map((r) => r.appliedAt)) - killedAt;
  const applied = all.map((r) => r.appliedAt).filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
  const gaps = applied.slice(1).map((t, i) => ({ at: t, gap: t - applied[i]! }));
  const longestPause = (killedAt: number) => Math.max(0, ...gaps.filter((g) => g.at > killedAt && g.at <= killedAt + 30_000).map((g) => g.gap));
  const before = gaps.filter((g) => g.at < redisKilledAt).map((g) => g.gap).sort((a, b) => a - b);
  const usualPause = before[Math.floor(before.length / 2)] ?? 0;
  const alive = [...stack.gateways, ...stack.schedulers, ...stack.workers].filter((p) => p.child.exitCode === null).length;

  const redisCheck = new Cluster(stack.redis.nodes.split(",").map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })));
  const liveLogKept = await redisCheck.exists(liveLogKey(planId));
  await redisCheck.quit();

  const report = [
    `scale-out: ${all.length} runs over ${WORKSPACES} workspaces in ${seconds(elapsed)} (2 gateways, 2 schedulers, 3 workers; Redis Cluster 3+3, NATS JetStream R3 on 3 servers, PgBouncer transaction mode)`,
    `  lost: ${lost}, errored: ${errored}, ordering violations: ${orderingViolations}, processes alive: ${alive}/7`,
    `  Redis primary :${redisVictim.port} killed: replica promoted, cluster ok after ${seconds(redisFailover)}; longest pause between applied runs in the 30 s after: ${seconds(longestPause(redisKilledAt))} (median pause before the kills: ${seconds(usualPause)}); first run queued after the kill applied ${seconds(recovered(redisKilledAt))} after it`,
    `  NATS server ${natsVictim!.name} (stream leader) killed: new stream leader after ${seconds(natsFailover)}; longest pause between applied runs in the 30 s after: ${seconds(longestPause(natsKilledAt))}; first run queued after the kill applied ${seconds(recovered(natsKilledAt))} after it`,
  ].join("\n");
  process.stdout.write(`${report}\n`);
  // What the processes said about any run that did not apply.
  for (const run of all.filter((r) => r.status !== "applied")) {
    const ids = [run.id, run.planId, run.applyId].filter((x): x is string => Boolean(x));
    const said = [...stack.gateways, ...stack.schedulers, ...stack.workers].flatMap((p) =>
      p.output().split("\n").filter((line) => ids.some((id) => line.includes(id))).map((line) => `    ${p.name}: ${line.slice(0, 600)}`),
    );
    process.stdout.write(`  run ${run.id} ended ${run.status}: ${JSON.stringify(run.timestamps)}\n${said.join("\n")}\n`);
    // The end of each phase's log: what terraform, or the worker, said about why it failed.
    for (const [kind, id] of [["plans", run.planId], ["applies", run.applyId]] as const) {
      if (!id) continue;
      const phase = await api1.get(`/${kind}/${id}`);
      const url = phase.body?.data?.attributes?.["log-read-url"] as string | undefined;
      const text = url ? await (await fetch(url)).text().catch((err: Error) => `(log not read: ${err.message})`) : "(no log URL)";
      process.stdout.write(`    ${kind} ${id} ${String(phase.body?.data?.attributes?.status)}, log ends: ${JSON.stringify(text.slice(-800))}\n`);
    }
  }

  expect(all).toHaveLength(TOTAL);
  expect({ lost, errored, orderingViolations, alive }).toEqual({ lost: 0, errored: 0, orderingViolations: 0, alive: 7 });
  expect(Number.isFinite(recovered(redisKilledAt)) && Number.isFinite(recovered(natsKilledAt))).toBe(true);
  expect(liveLogKept).toBe(1);
}, 1_800_000);

import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { enqueuePhaseJob } from "@tarmac/queues";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { blobText, createRunFixture, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

/**
 * After the plan, the plan job uploads the plan file and the JSON plan while `terraform providers
 * schema -json` runs, and runs one terraform at a time. The binary here is the test double behind
 * a shell wrapper that, when the workspace sets READS_LOG, takes a second over `show` and
 * `providers` and logs when each began and ended (READS_FAIL_SHOW: show fails after its second).
 */
const DOUBLE = JSON.stringify(terraformDoublePath).slice(1, -1);
const WRAPPER = `#!/bin/sh
case "$1" in
  show|providers)
    if [ -n "$READS_LOG" ]; then
      echo "start $1 $(date +%s%N)" >> "$READS_LOG"
      sleep 1
      if [ "$1" = show ] && [ -n "$READS_FAIL_SHOW" ]; then
        echo "end $1 $(date +%s%N)" >> "$READS_LOG"
        echo "Error: scripted show failure" >&2
        exit 1
      fi
      "${DOUBLE}" "$@"
      code=$?
      echo "end $1 $(date +%s%N)" >> "$READS_LOG"
      exit $code
    fi
    ;;
esac
exec "${DOUBLE}" "$@"
`;

let env: WorkerTestEnv;
let dir: string;
/** Between the worker and the gateway: holds the plan's document uploads for a second. */
let proxy: http.Server;

function startSlowUploadProxy(target: URL): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const slow = req.method === "PUT" && /\/(plan-file|plan-json)$/.test(req.url ?? "");
    const forward = (): void => {
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    };
    if (slow) setTimeout(forward, 1_000);
    else forward();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** The job URL through the proxy. */
function slowJobUrl(runId: string): string {
  const url = new URL(env.jobUrl(runId));
  url.port = String((proxy.address() as AddressInfo).port);
  return url.toString();
}

beforeAll(async () => {
  env = await startWorkerTestEnv();
  dir = await mkdtemp(path.join(env.workDir, "plan-documents-"));
  const wrapper = path.join(dir, "terraform");
  await writeFile(wrapper, WRAPPER);
  await chmod(wrapper, 0o755);
  env.startWorkers({ terraformBin: wrapper });
  proxy = await startSlowUploadProxy(new URL(env.jobUrl("run-x")));
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await env?.close();
}, 60_000);

/** When each command began and ended (ms), from the wrapper's log. */
async function intervals(log: string): Promise<Record<string, { start: number; end?: number }>> {
  const out: Record<string, { start: number; end?: number }> = {};
  for (const line of (await readFile(log, "utf8")).split("\n").filter(Boolean)) {
    const [what, command, ns] = line.split(" ") as [string, string, string];
    const ms = Number(BigInt(ns) / 1_000_000n);
    if (what === "start") out[command] = { start: ms };
    else out[command]!.end = ms;
  }
  return out;
}

describe("a plan's documents", () => {
  it("upload while providers schema runs, one terraform running at a time", async () => {
    const log = path.join(dir, "uploads.log");
    const f = await createRunFixture(env, { variables: [{ key: "READS_LOG", value: log, category: "env" }] });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: slowJobUrl(f.runId) });
    expect(await env.waitForFinal(f.runId, "plan", 60_000)).toMatchObject({ kind: "finished", resourceAdditions: 1 });

    const { show, providers } = await intervals(log);
    expect(show?.end).toBeDefined();
    expect(providers?.end).toBeDefined();
    expect(providers!.start).toBeGreaterThanOrEqual(show!.end!);

    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    const blobs = await env.db.blob.findMany({
      where: { id: { in: [plan.planFileBlobId!, plan.jsonBlobId!, plan.providerSchemasBlobId!] } },
      select: { id: true, createdAt: true },
    });
    const created = (id: string | null) => blobs.find((b) => b.id === id)!.createdAt.getTime();
    // The proxy held each upload for a second: providers schema had started before they were stored.
    expect(providers!.start).toBeLessThan(created(plan.planFileBlobId));
    expect(providers!.start).toBeLessThan(created(plan.jsonBlobId));
    expect(created(plan.providerSchemasBlobId)).toBeGreaterThanOrEqual(providers!.end! - 5);
    const json = JSON.parse((await blobText(env.db, plan.jsonBlobId))!.toString("utf8")) as { resource_changes: unknown[] };
    expect(json.resource_changes).toHaveLength(1);
    const schemas = JSON.parse((await blobText(env.db, plan.providerSchemasBlobId))!.toString("utf8")) as { provider_schemas: Record<string, unknown> };
    expect(Object.keys(schemas.provider_schemas)).toEqual(["registry.terraform.io/hashicorp/null"]);
  }, 90_000);

  it("are not uploaded when show fails, and providers schema does not run", async () => {
    const log = path.join(dir, "show-fails.log");
    const f = await createRunFixture(env, {
      variables: [
        { key: "READS_LOG", value: log, category: "env" },
        { key: "READS_FAIL_SHOW", value: "1", category: "env" },
      ],
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan", 60_000);
    expect(final.kind).toBe("errored");
    expect(final.message).toMatch(/terraform show failed/);
    expect(Object.keys(await intervals(log))).toEqual(["show"]);
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect(plan.planFileBlobId).toBeNull();
    expect(plan.jsonBlobId).toBeNull();
    expect(plan.providerSchemasBlobId).toBeNull();
    expect((await blobText(env.db, plan.logBlobId))!.toString("utf8")).toContain("scripted show failure");
  }, 90_000);
});

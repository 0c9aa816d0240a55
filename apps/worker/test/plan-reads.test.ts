import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { enqueuePhaseJob } from "@tarmac/queues";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { blobText, createRunFixture, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

/**
 * After the plan, `terraform show -json` and `terraform providers schema -json` only read: the
 * plan job runs them side by side. The binary here is the test double behind a shell wrapper that,
 * when the workspace sets READS_LOG, takes a second over each of the two and logs when each began
 * and ended (READS_FAIL_SHOW: show fails after its second).
 */
const WRAPPER = `#!/bin/sh
case "$1" in
  show|providers)
    if [ -n "$READS_LOG" ]; then
      trap 'echo "end $1 $(date +%s%N)" >> "$READS_LOG"; exit 130' INT
      echo "start $1 $(date +%s%N)" >> "$READS_LOG"
      sleep 1
      if [ "$1" = show ] && [ -n "$READS_FAIL_SHOW" ]; then
        echo "end $1 $(date +%s%N)" >> "$READS_LOG"
        echo "Error: scripted show failure" >&2
        exit 1
      fi
      "${JSON.stringify(terraformDoublePath).slice(1, -1)}" "$@"
      code=$?
      echo "end $1 $(date +%s%N)" >> "$READS_LOG"
      exit $code
    fi
    ;;
esac
exec "${JSON.stringify(terraformDoublePath).slice(1, -1)}" "$@"
`;

let env: WorkerTestEnv;
let dir: string;

beforeAll(async () => {
  env = await startWorkerTestEnv();
  dir = await mkdtemp(path.join(env.workDir, "reads-"));
  const wrapper = path.join(dir, "terraform");
  await writeFile(wrapper, WRAPPER);
  await chmod(wrapper, 0o755);
  env.startWorkers({ terraformBin: wrapper });
}, 60_000);

afterAll(async () => {
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

describe("a plan's reads of its result", () => {
  it("run side by side, and the plan file, JSON plan and provider schemas are all stored", async () => {
    const log = path.join(dir, "side-by-side.log");
    const f = await createRunFixture(env, { variables: [{ key: "READS_LOG", value: log, category: "env" }] });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    expect(await env.waitForFinal(f.runId, "plan", 60_000)).toMatchObject({ kind: "finished", resourceAdditions: 1 });

    const { show, providers } = await intervals(log);
    // Each took at least a second; one after the other, one would start after the other ended.
    expect(show?.end).toBeDefined();
    expect(providers?.end).toBeDefined();
    expect(providers!.start).toBeLessThan(show!.end!);
    expect(show!.start).toBeLessThan(providers!.end!);

    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect((await blobText(env.db, plan.planFileBlobId))?.length).toBeGreaterThan(0);
    const json = JSON.parse((await blobText(env.db, plan.jsonBlobId))!.toString("utf8")) as { resource_changes: unknown[] };
    expect(json.resource_changes).toHaveLength(1);
    const schemas = JSON.parse((await blobText(env.db, plan.providerSchemasBlobId))!.toString("utf8")) as { provider_schemas: Record<string, unknown> };
    expect(Object.keys(schemas.provider_schemas)).toEqual(["registry.terraform.io/hashicorp/null"]);
  }, 90_000);

  it("a failing show errors the plan once the schemas command has ended, and nothing is uploaded", async () => {
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

    // The schemas command had ended (interrupted or done) before the phase reported its end.
    const { providers } = await intervals(log);
    expect(providers?.end).toBeDefined();
    expect(providers!.end!).toBeLessThanOrEqual(new Date(final.at).getTime() + 5);
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect(plan.planFileBlobId).toBeNull();
    expect(plan.jsonBlobId).toBeNull();
    expect(plan.providerSchemasBlobId).toBeNull();
    const text = (await blobText(env.db, plan.logBlobId))!.toString("utf8");
    expect(text).toContain("scripted show failure");
  }, 90_000);
});

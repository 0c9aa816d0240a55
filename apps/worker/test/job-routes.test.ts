import { capabilityPaths, JOB_INPUTS_HEADER, jobSpec } from "@tarmac/contracts";
import { createJobClient } from "@tarmac/runner";
import { blobText, createRunFixture, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

let env: WorkerTestEnv;

beforeAll(async () => {
  env = await startWorkerTestEnv();
}, 60_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

const state = (serial: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ version: 4, terraform_version: "1.9.8", serial, lineage: "lin-1", outputs: {}, resources: [], ...extra });

describe("job capability routes", () => {
  it("answers 404 to a wrong secret, and to a secret minted for another run", async () => {
    const a = await createRunFixture(env);
    const b = await createRunFixture(env);
    const wrong = await fetch(`${env.gateway.url}${capabilityPaths.job(a.runId, "plan", "not-the-secret")}/spec`);
    expect(wrong.status).toBe(404);
    expect(((await wrong.json()) as { errors: Array<{ status: string }> }).errors[0]?.status).toBe("404");
    const secretOfB = env.jobUrl(b.runId).split("/").at(-1)!;
    const crossed = await fetch(`${env.gateway.url}${capabilityPaths.job(a.runId, "plan", secretOfB)}/configuration`);
    expect(crossed.status).toBe(404);
    // A plan's secret does not open the apply phase of the same run.
    const secretOfPlan = env.jobUrl(a.runId, "plan").split("/").at(-1)!;
    await env.db.run.update({ where: { id: a.runId }, data: { status: "applying" } });
    const otherPhase = await fetch(`${env.gateway.url}${capabilityPaths.job(a.runId, "apply", secretOfPlan)}/spec`);
    expect(otherPhase.status).toBe(404);
  });

  it("serves the job spec with run flags and decrypted workspace variables", async () => {
    const f = await createRunFixture(env, {
      workingDirectory: "infra",
      variables: [
        { key: "token", value: "very-secret", category: "env", sensitive: true },
        { key: "region", value: "eu", category: "terraform" },
      ],
      run: { isDestroy: true, targetAddrs: ["null_resource.a"], debuggingMode: true, variables: [{ key: "n", value: "3" }] },
    });
    const res = await fetch(`${env.jobUrl(f.runId)}/spec`);
    expect(res.status).toBe(200);
    const spec = jobSpec.parse(await res.json());
    expect(spec).toMatchObject({
      runId: f.runId,
      planId: f.planId,
      applyId: f.applyId,
      run: { isDestroy: true, refresh: true, targetAddrs: ["null_resource.a"], debuggingMode: true, variables: [{ key: "n", value: "3" }] },
      workspace: { id: f.workspaceId, workingDirectory: "infra", terraformVersion: "1.9.4" },
    });
    expect(spec.variables).toEqual(
      expect.arrayContaining([
        { key: "token", value: "very-secret", category: "env", hcl: false, sensitive: true },
        { key: "region", value: "eu", category: "terraform", hcl: false, sensitive: false },
      ]),
    );
    expect(spec.workspace.structuredRunOutput).toBe(false);
    await env.db.workspace.update({ where: { id: f.workspaceId }, data: { structuredRunOutputEnabled: true } });
    const again = jobSpec.parse(await (await fetch(`${env.jobUrl(f.runId)}/spec`)).json());
    expect(again.workspace.structuredRunOutput).toBe(true);
  });

  it("serves the configuration archive, and no state for a new workspace", async () => {
    const f = await createRunFixture(env);
    const cfg = await fetch(`${env.jobUrl(f.runId)}/configuration`);
    expect(cfg.status).toBe(200);
    const bytes = Buffer.from(await cfg.arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect((await fetch(`${env.jobUrl(f.runId)}/state`)).status).toBe(204);
    expect((await fetch(`${env.jobUrl(f.runId)}/plan-file`)).status).toBe(404);
  });

  it("serves a phase's inputs in one answer: the spec, the archive and the state, as the separate routes do", async () => {
    const f = await createRunFixture(env, { variables: [{ key: "token", value: "very-secret", category: "env", sensitive: true }] });
    const plan = createJobClient(env.jobUrl(f.runId));
    const first = await plan.getInputs();
    expect(first.spec).toEqual(jobSpec.parse(await (await fetch(`${env.jobUrl(f.runId)}/spec`)).json()));
    expect(first.spec.variables).toEqual([{ key: "token", value: "very-secret", category: "env", hcl: false, sensitive: true }]);
    expect(first.configuration).toEqual(Buffer.from(await (await fetch(`${env.jobUrl(f.runId)}/configuration`)).arrayBuffer()));
    expect(first.state).toBeNull();
    const raw = await fetch(`${env.jobUrl(f.runId)}/inputs`);
    expect(raw.headers.get(JOB_INPUTS_HEADER)).toBe(`spec=${JSON.stringify(first.spec).length}, configuration=${first.configuration.length}, state=none`);
    expect(raw.headers.get("cache-control")).toBe("no-store");

    // Once the workspace has a state, it comes last.
    await env.db.run.update({ where: { id: f.runId }, data: { status: "applying" } });
    expect((await fetch(`${env.jobUrl(f.runId, "apply")}/state`, { method: "PUT", body: state(3) })).status).toBe(201);
    const next = await createRunFixture(env, { workspaceId: f.workspaceId });
    const inputs = await createJobClient(env.jobUrl(next.runId)).getInputs();
    expect(inputs.state?.toString()).toBe(state(3));
    expect(inputs.spec.runId).toBe(next.runId);

    // A phase that ended gets nothing: 409, like every other read.
    await env.db.run.update({ where: { id: next.runId }, data: { status: "discarded" } });
    expect((await fetch(`${env.jobUrl(next.runId)}/inputs`)).status).toBe(409);
    expect((await fetch(`${env.gateway.url}${capabilityPaths.job(next.runId, "plan", "not-the-secret")}/inputs`)).status).toBe(404);
  });

  it("stores a plan file once: a retry of the same bytes is accepted, other bytes are refused", async () => {
    const f = await createRunFixture(env);
    const put = (body: string) => fetch(`${env.jobUrl(f.runId)}/plan-file`, { method: "PUT", body });
    expect((await put("first")).status).toBe(204);
    expect((await put("first")).status).toBe(204);
    expect((await put("second")).status).toBe(409);
    // Only the apply phase reads the plan file back.
    expect((await fetch(`${env.jobUrl(f.runId)}/plan-file`)).status).toBe(404);
    await env.db.run.update({ where: { id: f.runId }, data: { status: "apply_queued" } });
    const got = await fetch(`${env.jobUrl(f.runId, "apply")}/plan-file`);
    expect(await got.text()).toBe("first");
    expect(await env.db.blob.count({ where: { planFiles: { some: { runId: f.runId } } } })).toBe(1);
  });

  it("refuses a JSON plan that is not JSON, and logs of an unknown phase", async () => {
    const f = await createRunFixture(env);
    const bad = await fetch(`${env.jobUrl(f.runId)}/plan-json`, { method: "PUT", body: "{not json" });
    expect(bad.status).toBe(422);
    expect((await fetch(`${env.jobUrl(f.runId)}/logs/destroy`, { method: "PUT", body: "\x02x\x03" })).status).toBe(404);
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect(plan.jsonBlobId).toBeNull();
  });

  it("stores provider schemas once per plan, and refuses a document that is not a JSON object", async () => {
    const f = await createRunFixture(env);
    const put = (body: string) => fetch(`${env.jobUrl(f.runId)}/provider-schemas`, { method: "PUT", body });
    expect((await put("{not json")).status).toBe(422);
    expect((await put("[1]")).status).toBe(422);
    expect((await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } })).providerSchemasBlobId).toBeNull();
    expect((await put('{"format_version":"1.0","provider_schemas":{"x":{}}}')).status).toBe(204);
    // A retried upload of the same bytes is accepted; different bytes would replace what the phase produced.
    expect((await put('{"format_version":"1.0","provider_schemas":{"x":{}}}')).status).toBe(204);
    expect((await put('{"format_version":"1.0","provider_schemas":{}}')).status).toBe(409);
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect((await blobText(env.db, plan.providerSchemasBlobId))?.toString()).toBe('{"format_version":"1.0","provider_schemas":{"x":{}}}');
    expect(await env.db.blob.count({ where: { planProviderSchemas: { some: { runId: f.runId } } } })).toBe(1);
    const wrong = env.jobUrl(f.runId).replace(/[^/]+$/, "x".repeat(43));
    expect((await fetch(`${wrong}/provider-schemas`, { method: "PUT", body: "{}" })).status).toBe(404);
  });

  it("accepts state only from an applying run, idempotently, and refuses a conflicting serial", async () => {
    const f = await createRunFixture(env);
    const put = (body: string) => fetch(`${env.jobUrl(f.runId, "apply")}/state`, { method: "PUT", body });
    expect((await put(state(1))).status).toBe(409);
    await env.db.run.update({ where: { id: f.runId }, data: { status: "applying" } });
    expect((await put("nope")).status).toBe(422);
    expect((await put(JSON.stringify({ version: 4 }))).status).toBe(422);
    const created = await put(state(1));
    expect(created.status).toBe(201);
    const again = await put(state(1));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await created.json());
    expect((await put(state(1, { lineage: "other" }))).status).toBe(409);
    expect(await env.db.stateVersion.count({ where: { workspaceId: f.workspaceId } })).toBe(1);

    const served = await fetch(`${env.jobUrl(f.runId, "apply")}/state`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(state(1));
  });

  it("answers 413 to an upload beyond the size cap", async () => {
    const f = await createRunFixture(env);
    const res = await fetch(`${env.jobUrl(f.runId)}/plan-file`, {
      method: "PUT",
      body: new Uint8Array(100 * 1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: Array<{ status: string }> }).errors[0]?.status).toBe("413");
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect(plan.planFileBlobId).toBeNull();
  }, 30_000);
});

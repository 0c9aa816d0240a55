import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { buildApplyArgs, buildInitArgs, buildPlanArgs, parseStateJson, type PlanArgsOptions } from "../src";
import { writeDoubleScript } from "./index";
import { isAlive, makeConfigDir, runDouble, startDouble, waitFor, removeConfigDirs } from "./helpers";

jest.setTimeout(30_000);
afterAll(removeConfigDirs);

const CONFIG = 'resource "null_resource" "a" {}\nresource "null_resource" "b" {}\n';
const PLAN: PlanArgsOptions = { planFile: "tfplan", isDestroy: false, refresh: true, refreshOnly: false, targetAddrs: [], replaceAddrs: [] };

async function initialized(config = CONFIG): Promise<string> {
  const dir = await makeConfigDir({ "main.tf": config });
  expect((await runDouble(dir, buildInitArgs())).exitCode).toBe(0);
  return dir;
}

describe("scripted behaviour of the terraform double", () => {
  it("takes the scripted time for a plan, printing progress every second", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { plan: { seconds: 2 } });
    const started = Date.now();
    const plan = await runDouble(dir, buildPlanArgs(PLAN));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(plan.exitCode).toBe(2);
    expect(plan.output).toContain("Still planning... [1s elapsed]");
  });

  it("takes the scripted time for an apply, with Still creating lines", async () => {
    const dir = await initialized('resource "null_resource" "a" {}\n');
    await writeDoubleScript(dir, { apply: { seconds: 2 } });
    await runDouble(dir, buildPlanArgs(PLAN));
    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.exitCode).toBe(0);
    expect(apply.output).toContain("null_resource.a: Still creating... [1s elapsed]");
    expect(apply.output).toContain("null_resource.a: Creation complete after 2s");
  });

  it("fails a plan scripted to fail with exit 1 and no plan file", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { plan: { fail: true } });
    const plan = await runDouble(dir, buildPlanArgs(PLAN));
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("Error: Scripted plan failure");
    expect(existsSync(path.join(dir, "tfplan"))).toBe(false);
  });

  it("fails an apply scripted to fail with exit 1", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { apply: { fail: true } });
    expect((await runDouble(dir, buildPlanArgs(PLAN))).exitCode).toBe(2);
    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.exitCode).toBe(1);
    expect(apply.output).toContain("Error: Scripted apply failure");
    expect(apply.output).not.toContain("Apply complete!");
  });

  it("stops a slow plan promptly on interrupt", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { plan: { seconds: 20 } });
    const plan = startDouble(dir, buildPlanArgs(PLAN));
    await waitFor(() => plan.output().includes("Still planning... [1s elapsed]"), "the plan to be under way");
    const interruptedAt = Date.now();
    plan.run.interrupt();
    const exit = await plan.run.promise;
    expect(Date.now() - interruptedAt).toBeLessThan(1500);
    expect(exit).toEqual({ exitCode: 1, signal: null });
    expect(plan.output()).toContain("Interrupt received.\nPlease wait for Terraform to exit or data loss may occur.\nGracefully shutting down...");
    expect(existsSync(path.join(dir, "tfplan"))).toBe(false);
  });

  it("interrupts when the abort signal fires", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { plan: { seconds: 20 } });
    const controller = new AbortController();
    const plan = startDouble(dir, buildPlanArgs(PLAN), undefined, controller.signal);
    await waitFor(() => plan.output().includes("Still planning..."), "the plan to be under way");
    controller.abort();
    expect(await plan.run.promise).toEqual({ exitCode: 1, signal: null });
    expect(plan.output()).toContain("Interrupt received.");
  });

  it("keeps running after an interrupt while scripted to ignore it, until killed", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { plan: { seconds: 30, ignore_interrupt_seconds: 30 } });
    const plan = startDouble(dir, buildPlanArgs(PLAN));
    await waitFor(() => plan.output().includes("Still planning... [1s elapsed]"), "the plan to be under way");
    plan.run.interrupt();
    await waitFor(() => plan.output().includes("Still planning... [2s elapsed]"), "progress after the interrupt");
    expect(plan.output()).toContain("Interrupt received.");
    expect(isAlive(plan.run.pid)).toBe(true);
    plan.run.kill();
    expect(await plan.run.promise).toEqual({ exitCode: null, signal: "SIGKILL" });
    expect(existsSync(path.join(dir, "tfplan"))).toBe(false);
  });

  it("keeps what an interrupted apply completed in the state", async () => {
    const dir = await initialized();
    await writeDoubleScript(dir, { apply: { seconds: 2 } });
    await runDouble(dir, buildPlanArgs(PLAN));
    const apply = startDouble(dir, buildApplyArgs("tfplan"));
    await waitFor(() => /Creation complete/.test(apply.output()), "the first resource to be created");
    apply.run.interrupt();
    expect((await apply.run.promise).exitCode).toBe(1);
    expect(apply.output()).toContain("Error: execution halted");
    const state = parseStateJson(await readFile(path.join(dir, "terraform.tfstate"), "utf8"));
    expect(state.resourceInstanceCount).toBe(1);
  });
});

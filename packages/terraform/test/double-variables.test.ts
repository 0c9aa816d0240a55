import { realpath } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildApplyArgs, buildInitArgs, buildPlanArgs, buildShowPlanArgs, buildTerraformEnv, writeVariables, type PlanArgsOptions } from "../src";
import { readDoubleRecord } from "./index";
import { makeConfigDir, runDouble, removeConfigDirs } from "./helpers";

jest.setTimeout(30_000);
afterAll(removeConfigDirs);

const CONFIG = `
variable "greeting" {}
variable "count_of" {
  type = number
}
variable "tags" {
  type = list(string)
}
variable "from_env" {}
resource "null_resource" "a" {
  triggers = { greeting = var.greeting, n = "\${var.count_of}" }
}
output "greeting" { value = var.greeting }
`;

const PLAN: PlanArgsOptions = { planFile: "tfplan", isDestroy: false, refresh: true, refreshOnly: false, targetAddrs: [], replaceAddrs: [] };

async function recordFile(): Promise<string> {
  return path.join(await makeConfigDir({}), "record.jsonl");
}

describe("variables reaching terraform", () => {
  it("delivers tfvars values (plain strings escaped exactly) and env variables, and records them", async () => {
    const dir = await makeConfigDir({ "main.tf": CONFIG });
    const tricky = 'say "hi" \\ ${not_interpolated} %{nor_this}\nsecond line\ttab';
    const written = await writeVariables(dir, [
      { key: "greeting", value: tricky, category: "terraform", hcl: false },
      { key: "count_of", value: "2", category: "terraform", hcl: true },
      { key: "tags", value: '["a", "b"]', category: "terraform", hcl: true },
      { key: "TF_VAR_from_env", value: "env value", category: "env", hcl: false },
    ]);
    const record = await recordFile();
    const env = buildTerraformEnv({
      base: { PATH: process.env.PATH, HOME: os.tmpdir(), TF_DOUBLE_RECORD: record },
      variables: written.env,
      debuggingMode: true,
    });

    expect((await runDouble(dir, buildInitArgs(), env)).exitCode).toBe(0);
    const plan = await runDouble(dir, buildPlanArgs(PLAN), env);
    expect(plan.exitCode).toBe(2);
    expect(plan.output).toMatch(/\[TRACE\]/);
    const show = await runDouble(dir, buildShowPlanArgs("tfplan"), env);
    const json = JSON.parse(show.stdout) as { variables: Record<string, { value: unknown }> };
    expect(json.variables).toEqual({
      greeting: { value: tricky },
      count_of: { value: 2 },
      tags: { value: ["a", "b"] },
      from_env: { value: "env value" },
    });

    const invocations = await readDoubleRecord(record);
    expect(invocations.map((i) => i.argv[0])).toEqual(["init", "plan", "show"]);
    const planCall = invocations[1];
    expect(planCall?.env).toMatchObject({ TF_VAR_from_env: "env value", TF_LOG: "TRACE", TF_IN_AUTOMATION: "1" });
    expect(planCall?.cwd).toBe(await realpath(dir));
  });

  it("records plan options on terraform's command line", async () => {
    const dir = await makeConfigDir({ "main.tf": 'resource "null_resource" "a" {}\n', "extra.tfvars": "" });
    const record = await recordFile();
    const env = { PATH: process.env.PATH ?? "", TF_DOUBLE_RECORD: record };
    await runDouble(dir, buildInitArgs(), env);
    const opts: PlanArgsOptions = { ...PLAN, refresh: false, targetAddrs: ["null_resource.a"], replaceAddrs: ["null_resource.a"], varFiles: ["extra.tfvars"] };
    expect((await runDouble(dir, buildPlanArgs(opts), env)).exitCode).toBe(2);
    expect((await runDouble(dir, buildPlanArgs({ ...PLAN, isDestroy: true }), env)).exitCode).toBe(0);
    expect((await runDouble(dir, buildPlanArgs({ ...PLAN, refreshOnly: true }), env)).exitCode).toBe(0);
    await runDouble(dir, buildApplyArgs("tfplan"), env);

    const argvs = (await readDoubleRecord(record)).map((i) => i.argv);
    expect(argvs[1]).toEqual(["plan", "-input=false", "-no-color", "-out=tfplan", "-detailed-exitcode", "-refresh=false", "-target=null_resource.a", "-replace=null_resource.a", "-var-file=extra.tfvars"]);
    expect(argvs[2]).toContain("-destroy");
    expect(argvs[3]).toContain("-refresh-only");
    expect(argvs[4]).toEqual(["apply", "-input=false", "-no-color", "-auto-approve", "tfplan"]);
  });

  it("fails the plan when a required variable has no value", async () => {
    const dir = await makeConfigDir({ "main.tf": 'variable "needed" {}\nresource "null_resource" "a" {}\n' });
    await runDouble(dir, buildInitArgs());
    const plan = await runDouble(dir, buildPlanArgs(PLAN));
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("Error: No value for required variable");
  });
});

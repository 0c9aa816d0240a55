import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  buildApplyArgs,
  buildInitArgs,
  buildPlanArgs,
  buildShowPlanArgs,
  parsePlanJson,
  parseStateJson,
  writeLocalBackendOverride,
  type PlanArgsOptions,
} from "../src";
import { makeConfigDir, runDouble, removeConfigDirs } from "./helpers";

jest.setTimeout(30_000);
afterAll(removeConfigDirs);

const TWO_RESOURCES = `
resource "null_resource" "a" {
  triggers = { name = "first" }
}
resource "null_resource" "b" {
  triggers = { name = "second" }
}
output "a_id" { value = null_resource.a.id }
`;

const PLAN: PlanArgsOptions = { planFile: "tfplan", isDestroy: false, refresh: true, refreshOnly: false, targetAddrs: [], replaceAddrs: [] };

async function planAndShow(dir: string, opts: Partial<PlanArgsOptions> = {}) {
  const plan = await runDouble(dir, buildPlanArgs({ ...PLAN, ...opts }));
  const show = await runDouble(dir, buildShowPlanArgs("tfplan"));
  expect(show.exitCode).toBe(0);
  const json = JSON.parse(show.stdout) as Record<string, unknown>;
  return { plan, json, summary: parsePlanJson(json) };
}

async function readState(dir: string) {
  return parseStateJson(await readFile(path.join(dir, "terraform.tfstate"), "utf8"));
}

async function initialized(files: Record<string, string>): Promise<string> {
  const dir = await makeConfigDir(files);
  const init = await runDouble(dir, buildInitArgs());
  expect(init.exitCode).toBe(0);
  return dir;
}

async function applied(files: Record<string, string>): Promise<string> {
  const dir = await initialized(files);
  await planAndShow(dir);
  expect((await runDouble(dir, buildApplyArgs("tfplan"))).exitCode).toBe(0);
  return dir;
}

describe("terraform double driven by the CLI driver", () => {
  it("initializes, plans, shows and applies new resources, then plans no changes", async () => {
    const dir = await makeConfigDir({ "main.tf": TWO_RESOURCES });
    const init = await runDouble(dir, buildInitArgs());
    expect(init.exitCode).toBe(0);
    expect(init.output).toContain("Initializing the backend...");
    expect(init.output).toContain("Terraform has been successfully initialized!");
    expect(existsSync(path.join(dir, ".terraform"))).toBe(true);

    const first = await planAndShow(dir);
    expect(first.plan.exitCode).toBe(2);
    expect(first.plan.output).toContain("  # null_resource.a will be created");
    expect(first.plan.output).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    expect(first.summary).toEqual({ hasChanges: true, resourceAdditions: 2, resourceChanges: 0, resourceDestructions: 0, resourceImports: 0 });
    expect(first.json).toMatchObject({ format_version: "1.2", terraform_version: "1.9.8", applyable: true, complete: true, errored: false });
    expect(first.json).toHaveProperty("planned_values.root_module.resources");
    expect(first.json).toHaveProperty("configuration.root_module.resources");
    expect(first.json).toHaveProperty("resource_changes.0.provider_name", "registry.terraform.io/hashicorp/null");

    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.exitCode).toBe(0);
    expect(apply.output).toContain("null_resource.a: Creating...");
    expect(apply.output).toMatch(/null_resource\.a: Creation complete after 0s \[id=\d+\]/);
    expect(apply.output).toContain("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    const state = await readState(dir);
    expect(state).toMatchObject({ serial: 1, terraformVersion: "1.9.8", resourceInstanceCount: 2 });
    expect(state.lineage).toMatch(/^[0-9a-f-]{36}$/);
    expect(state.outputs.a_id?.value).toMatch(/^\d+$/);

    const second = await planAndShow(dir);
    expect(second.plan.exitCode).toBe(0);
    expect(second.plan.output).toContain("null_resource.a: Refreshing state... [id=");
    expect(second.plan.output).toContain("No changes. Your infrastructure matches the configuration.");
    expect(second.summary).toEqual({ hasChanges: false, resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 0, resourceImports: 0 });
  });

  it("plans an in-place update when an attribute changes and keeps the state lineage", async () => {
    const dir = await applied({ "main.tf": TWO_RESOURCES });
    const before = await readState(dir);
    await writeFile(path.join(dir, "main.tf"), TWO_RESOURCES.replace('"second"', '"changed"'));
    const { plan, summary } = await planAndShow(dir);
    expect(plan.output).toContain("  # null_resource.b will be updated in-place");
    expect(summary).toMatchObject({ resourceAdditions: 0, resourceChanges: 1, resourceDestructions: 0 });
    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.output).toContain("null_resource.b: Modifications complete after 0s");
    const after = await readState(dir);
    expect(after.serial).toBe(before.serial + 1);
    expect(after.lineage).toBe(before.lineage);
  });

  it("destroys every resource with a destroy plan", async () => {
    const dir = await applied({ "main.tf": TWO_RESOURCES });
    const { plan, summary } = await planAndShow(dir, { isDestroy: true });
    expect(plan.exitCode).toBe(2);
    expect(plan.output).toContain("  # null_resource.a will be destroyed");
    expect(summary).toMatchObject({ hasChanges: true, resourceAdditions: 0, resourceDestructions: 2 });
    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.output).toContain("Destroy complete! Resources: 2 destroyed.");
    expect((await readState(dir)).resourceInstanceCount).toBe(0);
  });

  it("destroys a resource removed from the configuration", async () => {
    const dir = await applied({ "main.tf": TWO_RESOURCES });
    await writeFile(path.join(dir, "main.tf"), 'resource "null_resource" "a" {\n  triggers = { name = "first" }\n}\n');
    const { plan, json, summary } = await planAndShow(dir);
    expect(plan.output).toContain("  # (because null_resource.b is not in configuration)");
    expect(summary).toMatchObject({ resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 1 });
    expect(json).toHaveProperty("resource_changes.1.action_reason", "delete_because_no_resource_config");
  });

  it("restricts a plan to the -target addresses", async () => {
    const dir = await initialized({ "main.tf": TWO_RESOURCES });
    const { plan, summary } = await planAndShow(dir, { targetAddrs: ["null_resource.b"] });
    expect(plan.output).toContain("Warning: Resource targeting is in effect");
    expect(plan.output).not.toContain("null_resource.a will be created");
    expect(summary).toMatchObject({ resourceAdditions: 1 });
    await runDouble(dir, buildApplyArgs("tfplan"));
    expect((await readState(dir)).resourceInstanceCount).toBe(1);
  });

  it("replaces a -replace address: one addition and one destruction", async () => {
    const dir = await applied({ "main.tf": TWO_RESOURCES });
    const { plan, json, summary } = await planAndShow(dir, { replaceAddrs: ["null_resource.a"] });
    expect(plan.output).toContain("  # null_resource.a will be replaced, as requested");
    expect(summary).toEqual({ hasChanges: true, resourceAdditions: 1, resourceChanges: 0, resourceDestructions: 1, resourceImports: 0 });
    expect(json).toHaveProperty("resource_changes.0.change.actions", ["delete", "create"]);
    expect(json).toHaveProperty("resource_changes.0.action_reason", "replace_by_request");
    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.output).toContain("null_resource.a: Destruction complete after 0s");
    expect(apply.output).toContain("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
  });

  it("plans no resource changes with -refresh-only even when the configuration changed", async () => {
    const dir = await applied({ "main.tf": TWO_RESOURCES });
    await writeFile(path.join(dir, "main.tf"), TWO_RESOURCES.replace('"second"', '"changed"'));
    const { plan, json, summary } = await planAndShow(dir, { refreshOnly: true });
    expect(plan.exitCode).toBe(0);
    expect(plan.output).toContain("No changes. Your infrastructure still matches the configuration.");
    expect(summary.hasChanges).toBe(false);
    // terraform omits empty resource_changes; the parser must accept that.
    expect(json).not.toHaveProperty("resource_changes");
  });

  it("counts an import block as an import", async () => {
    const dir = await initialized({
      "main.tf": 'import {\n  to = null_resource.a\n  id = "existing-1"\n}\nresource "null_resource" "a" {}\n',
    });
    const { plan, summary } = await planAndShow(dir);
    expect(plan.output).toContain("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");
    expect(summary).toEqual({ hasChanges: true, resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 0, resourceImports: 1 });
    const apply = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(apply.output).toContain("null_resource.a: Import complete [id=existing-1]");
    expect(apply.output).toContain("Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed.");
  });

  it("runs a configuration whose cloud block is overridden by the local backend override", async () => {
    const dir = await makeConfigDir({
      "main.tf": 'terraform {\n  cloud {\n    organization = "acme"\n    workspaces {\n      name = "prod"\n    }\n  }\n}\n' + TWO_RESOURCES,
    });
    await writeLocalBackendOverride(dir);
    expect((await runDouble(dir, buildInitArgs())).exitCode).toBe(0);
    const { summary } = await planAndShow(dir);
    expect(summary.resourceAdditions).toBe(2);
    expect((await runDouble(dir, buildApplyArgs("tfplan"))).exitCode).toBe(0);
  });

  it("refuses to apply a plan whose state changed since planning", async () => {
    const dir = await initialized({ "main.tf": TWO_RESOURCES });
    await planAndShow(dir);
    await runDouble(dir, buildPlanArgs({ ...PLAN, planFile: "other" }));
    expect((await runDouble(dir, buildApplyArgs("other"))).exitCode).toBe(0);
    const stale = await runDouble(dir, buildApplyArgs("tfplan"));
    expect(stale.exitCode).toBe(1);
    expect(stale.output).toContain("Error: Saved plan is stale");
  });
});

describe("terraform double errors", () => {
  it("fails a plan on an HCL syntax error with an Error diagnostic and exit 1", async () => {
    const dir = await initialized({ "main.tf": TWO_RESOURCES });
    await writeFile(path.join(dir, "broken.tf"), 'resource "null_resource" "c" {\n');
    const plan = await runDouble(dir, buildPlanArgs(PLAN));
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("Error: Unclosed configuration block");
    expect(plan.output).toContain("on broken.tf line 1");
    expect(existsSync(path.join(dir, "tfplan"))).toBe(false);
  });

  it("fails a plan without configuration files", async () => {
    const dir = await makeConfigDir({});
    const plan = await runDouble(dir, buildPlanArgs(PLAN));
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("Error: No configuration files");
  });

  it("fails a plan that was not preceded by init", async () => {
    const dir = await makeConfigDir({ "main.tf": TWO_RESOURCES });
    const plan = await runDouble(dir, buildPlanArgs(PLAN));
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("Error: Inconsistent dependency lock file");
  });

  it("rejects flags terraform does not have", async () => {
    const dir = await initialized({ "main.tf": TWO_RESOURCES });
    const plan = await runDouble(dir, ["plan", "-no-color", "-bogus"]);
    expect(plan.exitCode).toBe(1);
    expect(plan.output).toContain("flag provided but not defined: -bogus");
  });

  it("reports a version, plain and as JSON", async () => {
    const dir = await makeConfigDir({});
    expect((await runDouble(dir, ["version"])).output).toMatch(/^Terraform v1\.9\.8\non \w+_\w+\n$/);
    const json = await runDouble(dir, ["version", "-json"], { PATH: process.env.PATH ?? "", TF_DOUBLE_VERSION: "1.5.7" });
    expect(JSON.parse(json.output)).toMatchObject({ terraform_version: "1.5.7" });
  });

  it("honours -chdir before the subcommand", async () => {
    const dir = await makeConfigDir({ "main.tf": TWO_RESOURCES });
    const parent = path.dirname(dir);
    const init = await runDouble(parent, [`-chdir=${path.basename(dir)}`, ...buildInitArgs()]);
    expect(init.exitCode).toBe(0);
    expect(existsSync(path.join(dir, ".terraform.lock.hcl"))).toBe(true);
  });
});

import { readFile } from "node:fs/promises";
import path from "node:path";
import { startCliStack, type CliStack } from "./stack";
import {
  SIMPLE_CONFIG,
  TerraformUser,
  cloudBlock,
  createOrganization,
  currentState,
  hex,
  resourceAddresses,
  runById,
  runIdsIn,
  runsOf,
  workspaceByName,
} from "./terraform";

/**
 * The terraform CLI's remote-run workflow against Tarmac over HTTPS: `init` with a `cloud`
 * block, speculative plans, applies (with variables and saved plans) and destroy, each
 * checked by exit code, output and the API's view of runs and state.
 */
jest.setTimeout(300_000);

let stack: CliStack;
let org: string;

beforeAll(async () => {
  stack = await startCliStack();
  org = await createOrganization(stack);
}, 240_000);
afterAll(async () => {
  await stack?.stop();
});

async function userWith(workspace: string, config = SIMPLE_CONFIG): Promise<TerraformUser> {
  return new TerraformUser(stack, workspace).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace }) + config });
}

describe("terraform CLI with a cloud block", () => {
  it("init creates the workspace and configures the cloud backend", async () => {
    const name = `init-${hex(3)}`;
    expect(await workspaceByName(stack, org, name)).toBeNull();
    const user = await userWith(name);
    const init = await user.expect(["init", "-input=false"]);
    expect(init.stdout).toContain("HCP Terraform has been successfully initialized!");
    const ws = await workspaceByName(stack, org, name);
    expect(ws).not.toBeNull();
    expect(ws!.attributes["execution-mode"]).toBe("remote");
    const backend = JSON.parse(await readFile(path.join(user.dir, ".terraform", "terraform.tfstate"), "utf8"));
    expect(backend.backend.type).toBe("cloud");
    expect(backend.backend.config.hostname).toBe(stack.hostname);
  });

  it("plan runs a speculative plan remotely and changes nothing", async () => {
    const name = `plan-${hex(3)}`;
    const user = await userWith(name);
    await user.expect(["init", "-input=false"]);
    const plan = await user.expect(["plan"]);
    expect(plan.stdout).toContain("Running plan in HCP Terraform");
    expect(plan.stdout).toMatch(/terraform_data\.greeting will be created/);
    expect(plan.stdout).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    const [runId] = runIdsIn(plan.stdout);
    const run = await runById(stack, runId!);
    expect(run.attributes["plan-only"]).toBe(true);
    expect(run.attributes.status).toBe("planned_and_finished");
    const ws = await workspaceByName(stack, org, name);
    expect(run.relationships.workspace.data.id).toBe(ws!.id);
    // The workspace's run list hides speculative runs, as HCP Terraform's does.
    expect(await runsOf(stack, ws!.id)).toEqual([]);
    expect(await currentState(stack, ws!.id)).toBeNull();
  });

  it("apply -auto-approve applies remotely, records the state, and a second plan has no changes", async () => {
    const name = `apply-${hex(3)}`;
    const user = await userWith(name);
    await user.expect(["init", "-input=false"]);
    const apply = await user.expect(["apply", "-auto-approve"]);
    expect(apply.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    expect(apply.stdout).toMatch(/greeting = "hello"/);
    const ws = await workspaceByName(stack, org, name);
    const runs = await runsOf(stack, ws!.id);
    expect(runs[0]!.attributes.status).toBe("applied");
    const state = await currentState(stack, ws!.id);
    expect(resourceAddresses(state)).toEqual(["terraform_data.greeting"]);
    expect(state.outputs.greeting.value).toBe("hello");

    const output = await user.expect(["output", "-raw", "greeting"]);
    expect(output.stdout).toBe("hello");
    const again = await user.expect(["plan", "-detailed-exitcode"]);
    expect(again.stdout).toContain("No changes.");
  });

  it("apply -var passes the variable to the remote run", async () => {
    const name = `var-${hex(3)}`;
    const user = await userWith(name);
    await user.expect(["init", "-input=false"]);
    const apply = await user.expect(["apply", "-auto-approve", "-var", "greeting=bonjour"]);
    expect(apply.stdout).toMatch(/greeting = "bonjour"/);
    const ws = await workspaceByName(stack, org, name);
    expect((await currentState(stack, ws!.id)).outputs.greeting.value).toBe("bonjour");
    // A changed variable is a change: detailed exit code 2.
    const plan = await user.run(["plan", "-detailed-exitcode", "-var", "greeting=hola"]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("Plan: 0 to add, 1 to change, 0 to destroy.");
  });

  it("plan -out saves a cloud plan that apply then applies without planning again", async () => {
    const name = `saved-${hex(3)}`;
    const user = await userWith(name);
    await user.expect(["init", "-input=false"]);
    const plan = await user.expect(["plan", "-out", "saved.tfplan"]);
    expect(plan.stdout).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    const ws = await workspaceByName(stack, org, name);
    const [saved] = await runsOf(stack, ws!.id);
    expect(saved!.attributes.status).toBe("planned_and_saved");
    expect(saved!.attributes["save-plan"]).toBe(true);
    // A saved cloud plan is a small JSON file naming the run.
    const bookmark = JSON.parse(await readFile(path.join(user.dir, "saved.tfplan"), "utf8"));
    expect(bookmark.run_id).toBe(saved!.id);
    expect(bookmark.hostname).toBe(stack.hostname);

    const apply = await user.expect(["apply", "saved.tfplan"]);
    expect(apply.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    const runs = await runsOf(stack, ws!.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.attributes.status).toBe("applied");
    expect(resourceAddresses(await currentState(stack, ws!.id))).toEqual(["terraform_data.greeting"]);
  });

  it("destroy removes every resource through a destroy run", async () => {
    const name = `destroy-${hex(3)}`;
    const user = await userWith(name);
    await user.expect(["init", "-input=false"]);
    await user.expect(["apply", "-auto-approve"]);
    const destroy = await user.expect(["destroy", "-auto-approve"]);
    // The remote apply's own log: terraform reports a destroy run as an apply.
    expect(destroy.stdout).toContain("Apply complete! Resources: 0 added, 0 changed, 1 destroyed.");
    const ws = await workspaceByName(stack, org, name);
    const runs = await runsOf(stack, ws!.id);
    expect(runs[0]!.attributes["is-destroy"]).toBe(true);
    expect(runs[0]!.attributes.status).toBe("applied");
    expect(resourceAddresses(await currentState(stack, ws!.id))).toEqual([]);
  });
});

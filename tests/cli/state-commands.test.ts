import { writeFile } from "node:fs/promises";
import path from "node:path";
import { startCliStack, type CliStack } from "./stack";
import { TerraformUser, cloudBlock, createOrganization, currentState, hex, resourceAddresses, runsOf, workspaceByName } from "./terraform";

/**
 * The commands that read and write a workspace's state from the user's machine (state
 * versions API): `terraform state list/rm/mv/push`, `import`, a workspace in local execution
 * mode, and moving local state into a workspace with `init`.
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

const TWO_RESOURCES = `
resource "terraform_data" "a" {
  input = "a"
}

resource "terraform_data" "b" {
  input = "b"
}
`;

async function appliedWorkspace(prefix: string, config = TWO_RESOURCES): Promise<{ user: TerraformUser; name: string; wsId: string }> {
  const name = `${prefix}-${hex(3)}`;
  const user = await new TerraformUser(stack, name).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) + config });
  await user.expect(["init", "-input=false"]);
  await user.expect(["apply", "-auto-approve"]);
  const ws = await workspaceByName(stack, org, name);
  return { user, name, wsId: ws!.id };
}

const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "");

describe("terraform state commands", () => {
  it("state list shows the workspace's resources", async () => {
    const { user } = await appliedWorkspace("list");
    const list = await user.expect(["state", "list"]);
    expect(lines(list.stdout)).toEqual(["terraform_data.a", "terraform_data.b"]);
  });

  it("state rm writes a new state version without the resource", async () => {
    const { user, name, wsId } = await appliedWorkspace("rm");
    const before = await currentState(stack, wsId);
    const rm = await user.expect(["state", "rm", "terraform_data.b"]);
    expect(rm.stdout).toContain("Removed terraform_data.b");
    expect(rm.stdout).toContain("Successfully removed 1 resource instance(s).");
    const after = await currentState(stack, wsId);
    expect(resourceAddresses(after)).toEqual(["terraform_data.a"]);
    expect(after.serial).toBeGreaterThan(before.serial);
    expect(after.lineage).toBe(before.lineage);
    expect(lines((await user.expect(["state", "list"])).stdout)).toEqual(["terraform_data.a"]);
    // The workspace is unlocked again after the command.
    expect((await workspaceByName(stack, org, name))!.attributes.locked).toBe(false);
  });

  it("state mv renames a resource in the workspace's state", async () => {
    const { user, wsId } = await appliedWorkspace("mv");
    const mv = await user.expect(["state", "mv", "terraform_data.b", "terraform_data.c"]);
    expect(mv.stdout).toContain('Move "terraform_data.b" to "terraform_data.c"');
    expect(mv.stdout).toContain("Successfully moved 1 object(s).");
    expect(resourceAddresses(await currentState(stack, wsId))).toEqual(["terraform_data.a", "terraform_data.c"]);
  });

  it("state pull and state push round-trip an edited state", async () => {
    const { user, name, wsId } = await appliedWorkspace("push");
    const pulled = JSON.parse((await user.expect(["state", "pull"])).stdout);
    expect(resourceAddresses(pulled)).toEqual(["terraform_data.a", "terraform_data.b"]);
    const edited = { ...pulled, serial: pulled.serial + 1, resources: pulled.resources.filter((r: { name: string }) => r.name === "a") };
    await writeFile(path.join(user.dir, "edited.tfstate"), JSON.stringify(edited));
    await user.expect(["state", "push", "edited.tfstate"]);
    // terraform 1.11 `state push` imports the file's serial (statemgr.Import →
    // cloud.State.WriteStateForMigration), then PersistState sees a serial and state that differ
    // from what it read and increments the serial before uploading (internal/cloud/state.go,
    // `s.serial++`). So the one version it uploads has the file's serial + 1, and HCP stores that.
    const pushed = edited.serial + 1;
    const after = await currentState(stack, wsId);
    expect(after.serial).toBe(pushed);
    expect(after.lineage).toBe(pulled.lineage);
    expect(resourceAddresses(after)).toEqual(["terraform_data.a"]);
    const versions = await stack.api.get(`/state-versions?filter[organization][name]=${org}&filter[workspace][name]=${name}`);
    expect(versions.body.data.map((v: { attributes: { serial: number } }) => v.attributes.serial)).toEqual([pushed, pulled.serial]);

    // An older serial of the same lineage is refused without -force.
    await writeFile(path.join(user.dir, "stale.tfstate"), JSON.stringify({ ...pulled, serial: pulled.serial - 1 }));
    const stale = await user.run(["state", "push", "stale.tfstate"]);
    expect(stale.code).toBe(1);
    expect(stale.output).toContain(`Failed to write state: cannot import state with serial ${pulled.serial - 1} over newer state with serial ${pushed}`);
    expect((await currentState(stack, wsId)).serial).toBe(pushed);
  });
});

describe("terraform import and taint", () => {
  it("import adds an existing object to the workspace's state", async () => {
    const { user, wsId } = await appliedWorkspace("import", `resource "terraform_data" "a" {}\n`);
    await user.write({ "imported.tf": `resource "terraform_data" "imported" {}\n` });
    const imported = await user.expect(["import", "terraform_data.imported", "existing-object-id"]);
    expect(imported.stdout).toContain("Import successful!");
    const state = await currentState(stack, wsId);
    expect(resourceAddresses(state)).toEqual(["terraform_data.a", "terraform_data.imported"]);
    const object = state.resources.find((r: { name: string }) => r.name === "imported");
    expect(object.instances[0].attributes.id).toBe("existing-object-id");
  });

  it("taint marks a resource for replacement in the next remote plan, untaint clears it", async () => {
    const { user, wsId } = await appliedWorkspace("taint", `resource "terraform_data" "a" {}\n`);
    const taint = await user.expect(["taint", "terraform_data.a"]);
    expect(taint.stdout).toContain("Resource instance terraform_data.a has been marked as tainted.");
    expect((await currentState(stack, wsId)).resources[0].instances[0].status).toBe("tainted");
    const plan = await user.expect(["plan"]);
    expect(plan.stdout).toContain("terraform_data.a is tainted, so must be replaced");
    await user.expect(["untaint", "terraform_data.a"]);
    expect((await currentState(stack, wsId)).resources[0].instances[0].status).toBeUndefined();
  });
});

describe("local execution mode", () => {
  it("apply runs on the user's machine and stores the state in the workspace", async () => {
    const name = `local-${hex(3)}`;
    const created = await stack.api.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name, "execution-mode": "local" } },
    });
    expect(created.status).toBe(201);
    const user = await new TerraformUser(stack, name).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) + TWO_RESOURCES });
    await user.expect(["init", "-input=false"]);
    const apply = await user.expect(["apply", "-auto-approve"]);
    expect(apply.stdout).not.toContain("Running apply in HCP Terraform");
    expect(apply.stdout).toContain("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    const wsId = created.body.data.id as string;
    expect(await runsOf(stack, wsId)).toEqual([]);
    expect(resourceAddresses(await currentState(stack, wsId))).toEqual(["terraform_data.a", "terraform_data.b"]);
    expect((await workspaceByName(stack, org, name))!.attributes.locked).toBe(false);
    const again = await user.expect(["plan", "-detailed-exitcode"]);
    expect(again.stdout).toContain("No changes.");
  });
});

describe("migrating to the cloud block", () => {
  it("init moves local state into a new workspace once the user confirms", async () => {
    const name = `migrate-${hex(3)}`;
    const user = await new TerraformUser(stack, name).init({ "main.tf": TWO_RESOURCES });
    await user.expect(["init", "-input=false"]);
    await user.expect(["apply", "-auto-approve"]);
    const local = JSON.parse((await user.expect(["state", "pull"])).stdout);

    await user.write({ "cloud.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) });
    // HCP Terraform migrations refuse -force-copy: the user answers the prompt.
    const init = await user.expect(["init"], 0, { input: "yes\n" });
    expect(init.stdout).toContain("Do you wish to proceed?");
    expect(init.stdout).toContain("HCP Terraform has been successfully initialized!");
    const ws = await workspaceByName(stack, org, name);
    expect(ws).not.toBeNull();
    // terraform 1.11 does not keep the local lineage when the workspace has no state yet:
    // statemgr.Migrate copies lineage and serial into cloud.State (WriteStateForMigration), but
    // PersistState, having read no state, refreshes again; current-state-version answers 404, which
    // refreshState turns into lineage "" and serial 0, and PersistState then generates a new lineage
    // with serial 1 (internal/command/meta_backend_migrate.go backendMigrateState_s_s,
    // internal/cloud/state.go PersistState/refreshState). HCP stores that single upload as is.
    const migrated = await currentState(stack, ws!.id);
    expect(migrated.serial).toBe(1);
    expect(migrated.lineage).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(migrated.lineage).not.toBe(local.lineage);
    const versions = await stack.api.get(`/state-versions?filter[organization][name]=${org}&filter[workspace][name]=${name}`);
    expect(versions.body.data.map((v: { attributes: { serial: number } }) => v.attributes.serial)).toEqual([1]);
    expect(resourceAddresses(migrated)).toEqual(["terraform_data.a", "terraform_data.b"]);
    expect(migrated.resources).toEqual(local.resources);
    // The remote plan starts from the migrated state: nothing to do.
    const plan = await user.expect(["plan", "-detailed-exitcode"]);
    expect(plan.stdout).toContain("No changes.");
  });
});

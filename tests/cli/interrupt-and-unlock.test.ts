import { waitFor } from "@tarmac/testing";
import { startCliStack, type CliStack } from "./stack";
import {
  SIMPLE_CONFIG,
  TerraformUser,
  cloudBlock,
  createOrganization,
  currentState,
  hex,
  runsOf,
  waitForRunStatus,
  workspaceByName,
} from "./terraform";

/** Ctrl-C during a remote apply cancels the run; `terraform force-unlock` frees a locked workspace. */
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

// Long enough that the apply is surely still running when the CLI is interrupted; a
// canceled run stops it early (terraform forwards the interrupt to the provisioner).
const SLOW_APPLY = `
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 120"
  }
}
`;

describe("Ctrl-C", () => {
  it("during apply cancels the remote run", async () => {
    const name = `interrupt-${hex(3)}`;
    const user = await new TerraformUser(stack, name).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) + SLOW_APPLY });
    await user.expect(["init", "-input=false"]);
    const ws = await workspaceByName(stack, org, name);

    const apply = user.spawn(["apply", "-auto-approve"]);
    let run: { id: string };
    try {
      run = await waitFor(async () => (await runsOf(stack, ws!.id)).find((r) => r.attributes.status === "applying"), {
        timeoutMs: 90_000,
        intervalMs: 300,
        what: "the run to be applying",
      });
      // The provisioner started: the streamed apply log says so.
      await waitFor(() => (/terraform_data\.slow \(local-exec\): Executing/.test(apply.output()) ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: "the local-exec provisioner to start",
      });
    } catch (err) {
      apply.child.kill("SIGKILL");
      throw new Error(`${(err as Error).message}\n--- terraform output ---\n${apply.output()}`);
    }
    apply.child.kill("SIGINT");
    const result = await apply.done;

    // terraform reads the run's status before it sends the cancel, sees it still applying and
    // exits 0 (internal/cloud/backend.go, Operation): the run's final status is the truth.
    expect(result.code).toBe(0);
    expect(result.output).toContain("Interrupt received.");
    expect(result.output).toContain("The remote operation was successfully cancelled.");
    expect(await waitForRunStatus(stack, run.id, ["canceled", "errored", "applied", "force_canceled"], 90_000)).toBe("canceled");
    // Nothing was applied: terraform either wrote no state or, when it persisted state after
    // the interrupted provisioner, recorded the object as tainted (to be replaced).
    const state = await currentState(stack, ws!.id);
    const instances = ((state?.resources ?? []) as Array<{ instances: Array<{ status?: string }> }>).flatMap((r) => r.instances);
    expect(instances.every((i) => i.status === "tainted")).toBe(true);
    // The workspace is free for the next run, which creates (or replaces) the object.
    const next = await user.expect(["plan"]);
    expect(next.stdout).toMatch(/Plan: 1 to add, 0 to change, [01] to destroy\./);
  });
});

describe("terraform force-unlock", () => {
  it("unlocks a workspace someone else locked, given <organization>/<workspace> as the lock ID", async () => {
    const name = `unlock-${hex(3)}`;
    const user = await new TerraformUser(stack, name).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) + SIMPLE_CONFIG });
    await user.expect(["init", "-input=false"]);
    const ws = await workspaceByName(stack, org, name);
    const lock = await stack.api.post(`/workspaces/${ws!.id}/actions/lock`, { reason: "maintenance" });
    expect(lock.status).toBe(200);

    const wrong = await user.run(["force-unlock", "-force", `${org}/not-this-one`]);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain(`does not match existing lock ID "${org}/${name}"`);
    expect((await workspaceByName(stack, org, name))!.attributes.locked).toBe(true);

    const unlock = await user.expect(["force-unlock", "-force", `${org}/${name}`]);
    expect(unlock.stdout).toContain("Terraform state has been successfully unlocked!");
    expect((await workspaceByName(stack, org, name))!.attributes.locked).toBe(false);

    const apply = await user.expect(["apply", "-auto-approve"]);
    expect(apply.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
  });
});

import { startCliStack, type CliStack } from "./stack";
import { SIMPLE_CONFIG, TerraformUser, cloudBlock, createOrganization, hex, runById, runIdsIn } from "./terraform";

/**
 * `terraform show` of a saved cloud plan: the CLI reads the run and renders the plan from its
 * JSON documents (redacted for the human view, the full one for `-json`).
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

const SENSITIVE = `
variable "secret" {
  type      = string
  sensitive = true
  default   = "hunter2"
}

resource "terraform_data" "secret" {
  input = var.secret
}
`;

async function savedPlan(): Promise<{ user: TerraformUser; runId: string }> {
  const name = `show-${hex(3)}`;
  const user = await new TerraformUser(stack, name).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) + SIMPLE_CONFIG + SENSITIVE });
  await user.expect(["init", "-input=false"]);
  const plan = await user.expect(["plan", "-out", "saved.tfplan", "-var", "greeting=salut"]);
  const [runId] = runIdsIn(plan.stdout);
  expect((await runById(stack, runId!)).attributes.status).toBe("planned_and_saved");
  return { user, runId: runId! };
}

describe("terraform show of a saved cloud plan", () => {
  it("renders the planned changes with the run's status, hiding sensitive values", async () => {
    const { user, runId } = await savedPlan();
    const show = await user.expect(["show", "saved.tfplan"]);
    expect(show.stdout).toContain(runId);
    expect(show.stdout).toContain("terraform_data.greeting will be created");
    expect(show.stdout).toContain('+ input  = "salut"');
    expect(show.stdout).toContain("terraform_data.secret will be created");
    expect(show.stdout).toContain("(sensitive value)");
    expect(show.stdout).not.toContain("hunter2");
    expect(show.stdout).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
    expect(show.stdout).toContain("Run status: planned and saved (confirmable)");
  });

  it("show -json prints the plan document terraform would print for a local plan", async () => {
    const { user } = await savedPlan();
    const show = await user.expect(["show", "-json", "saved.tfplan"]);
    const doc = JSON.parse(show.stdout);
    expect(doc.format_version).toMatch(/^1\./);
    expect(doc.terraform_version).toBe("1.11.4");
    const changes = (doc.resource_changes as Array<{ address: string; change: { actions: string[]; after: Record<string, unknown> } }>).map((c) => ({
      address: c.address,
      actions: c.change.actions,
    }));
    expect(changes).toEqual([
      { address: "terraform_data.greeting", actions: ["create"] },
      { address: "terraform_data.secret", actions: ["create"] },
    ]);
    expect(doc.variables.greeting.value).toBe("salut");
    // The saved plan still applies afterwards.
    const apply = await user.expect(["apply", "saved.tfplan"]);
    expect(apply.stdout).toContain("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
  });
});

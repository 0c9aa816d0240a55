import { startStack, Tfe, type Stack } from "./stack";

/**
 * The redacted plan document (`GET /plans/:id/json-output-redacted`) the terraform CLI renders for
 * `terraform show` of a saved cloud plan and for structured run output, produced by the real
 * terraform (v1.11.4 on PATH) as the workers' executor: the worker uploads
 * `terraform providers schema -json` next to the JSON plan, the gateway assembles the document.
 */
let stack: Stack;
let tfe: Tfe;

beforeAll(async () => {
  stack = await startStack({ terraformBin: "terraform" });
  tfe = new Tfe(stack.api);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const SECRET = "hunter2-do-not-show";
const CONFIG = `
variable "secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "a" {
  input = { visible = "hello", hidden = var.secret }
}
output "visible" { value = "plain" }
`;

type Doc = Record<string, any>;

describe("the redacted plan document", () => {
  it("is terraform's jsonformat.Plan: the plan's changes, redacted, and the schemas to render them", async () => {
    const { wsId } = await tfe.createWorkspace();
    const variable = await stack.api.post(`/workspaces/${wsId}/vars`, {
      data: { type: "vars", attributes: { key: "secret", value: SECRET, category: "terraform", sensitive: true } },
    });
    expect(variable.status).toBe(201);
    const cvId = await tfe.upload(wsId, { "main.tf": CONFIG });
    const runId = await tfe.createRun(wsId, cvId);
    const run = await tfe.waitForStatus(runId, "planned", 120_000);
    const planId = run.relationships.plan.data.id as string;

    const res = await stack.api.get(`/plans/${planId}/json-output-redacted`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(SECRET);
    const doc = res.body as Doc;
    expect(Object.keys(doc).sort()).toEqual(
      ["output_changes", "plan_format_version", "provider_format_version", "provider_schemas", "resource_changes"].sort(),
    );
    expect(doc.plan_format_version).toMatch(/^1\.\d+$/);
    expect(doc.provider_format_version).toBe("1.0");
    const rc = doc.resource_changes[0];
    expect(rc).toMatchObject({ address: "terraform_data.a", mode: "managed", type: "terraform_data", provider_name: "terraform.io/builtin/terraform" });
    expect(rc.change.actions).toEqual(["create"]);
    expect(rc.change.before).toBeNull();
    expect(rc.change.after.input).toEqual({ visible: "hello", hidden: "(sensitive value, changed)" });
    expect(rc.change.after_sensitive).toEqual({ input: { hidden: true }, output: {} });
    expect(rc.change.after_unknown).toMatchObject({ id: true, output: true });
    // Only the schemas the plan needs: the CLI looks each change's type up there.
    expect(Object.keys(doc.provider_schemas)).toEqual(["terraform.io/builtin/terraform"]);
    expect(Object.keys(doc.provider_schemas["terraform.io/builtin/terraform"].resource_schemas)).toEqual(["terraform_data"]);
    expect(doc.output_changes.visible).toMatchObject({ actions: ["create"], after: "plain" });

    // The full JSON plan stays terraform's own document, for admins.
    const full = await stack.api.get(`/plans/${planId}/json-output`);
    expect(full.status).toBe(200);
    expect(full.body.format_version).toBe(doc.plan_format_version);
    expect(full.body.configuration).toBeDefined();
  }, 180_000);
});

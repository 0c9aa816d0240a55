import { buildInitArgs, buildPlanArgs, buildProvidersSchemaArgs, buildRedactedPlan, buildShowPlanArgs, pruneProviderSchemas } from "../src";
import { makeConfigDir, removeConfigDirs, runDouble } from "./helpers";

jest.setTimeout(30_000);
afterAll(removeConfigDirs);

const CONFIG = `
resource "null_resource" "a" {
  triggers = { name = "first" }
}
resource "random_pet" "p" {
  count  = 2
  length = 3
}
`;

describe("the double's providers schema -json", () => {
  it("needs init, then describes every configured resource type, enough to build the redacted plan", async () => {
    const dir = await makeConfigDir({ "main.tf": CONFIG });
    expect((await runDouble(dir, buildProvidersSchemaArgs())).exitCode).toBe(1);
    expect((await runDouble(dir, buildInitArgs())).exitCode).toBe(0);
    const res = await runDouble(dir, buildProvidersSchemaArgs());
    expect(res.exitCode).toBe(0);
    const doc = JSON.parse(res.stdout) as { format_version: string; provider_schemas: Record<string, { resource_schemas: Record<string, { block: { attributes: Record<string, unknown> } }> }> };
    expect(doc.format_version).toBe("1.0");
    expect(Object.keys(doc.provider_schemas)).toEqual(["registry.terraform.io/hashicorp/null", "registry.terraform.io/hashicorp/random"]);
    expect(Object.keys(doc.provider_schemas["registry.terraform.io/hashicorp/random"]!.resource_schemas.random_pet!.block.attributes).sort()).toEqual(["id", "length"]);

    const plan = await runDouble(dir, buildPlanArgs({ planFile: "tfplan", isDestroy: false, refresh: true, refreshOnly: false, targetAddrs: [], replaceAddrs: [] }));
    expect(plan.exitCode).toBe(2);
    const show = await runDouble(dir, buildShowPlanArgs("tfplan"));
    const redacted = buildRedactedPlan(show.stdout, pruneProviderSchemas(res.stdout, show.stdout)) as { resource_changes: unknown[] };
    expect(redacted.resource_changes).toHaveLength(3);
  });

  it("requires -json, as terraform does", async () => {
    const dir = await makeConfigDir({ "main.tf": CONFIG });
    await runDouble(dir, buildInitArgs());
    const res = await runDouble(dir, ["providers", "schema"]);
    expect(res.exitCode).toBe(1);
    expect(res.output).toContain("requires the `-json` flag");
  });
});

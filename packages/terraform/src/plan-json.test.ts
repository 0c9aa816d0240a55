import { InvalidPlanJsonError, parsePlanJson } from "./plan-json";

/** A resource_changes entry shaped like `terraform show -json` prints it (terraform 1.9). */
function rc(address: string, actions: string[], extra: Record<string, unknown> = {}, change: Record<string, unknown> = {}) {
  const [type, name] = address.replace(/^data\./, "").split(".");
  return {
    address,
    mode: address.startsWith("data.") ? "data" : "managed",
    type,
    name,
    provider_name: "registry.terraform.io/hashicorp/null",
    change: {
      actions,
      before: actions.includes("create") && !actions.includes("delete") ? null : { id: "5577006791947779410", triggers: null },
      after: actions.includes("delete") && !actions.includes("create") ? null : { triggers: null },
      after_unknown: {},
      before_sensitive: false,
      after_sensitive: {},
      ...change,
    },
    ...extra,
  };
}

function plan(resourceChanges: unknown[] | undefined, outputChanges?: Record<string, unknown>, applyable = false) {
  return {
    format_version: "1.2",
    terraform_version: "1.9.8",
    planned_values: { root_module: {} },
    ...(resourceChanges ? { resource_changes: resourceChanges } : {}),
    ...(outputChanges ? { output_changes: outputChanges } : {}),
    configuration: { provider_config: {}, root_module: {} },
    timestamp: "2024-11-05T09:30:00Z",
    applyable,
    complete: true,
    errored: false,
  };
}

const outputChange = (actions: string[]) => ({ actions, before: null, after: "x", after_unknown: false, before_sensitive: false, after_sensitive: false });

describe("parsePlanJson", () => {
  it("counts a creation as an addition", () => {
    expect(parsePlanJson(plan([rc("null_resource.a", ["create"], {}, { after_unknown: { id: true } })], undefined, true))).toEqual({
      hasChanges: true,
      resourceAdditions: 1,
      resourceChanges: 0,
      resourceDestructions: 0,
      resourceImports: 0,
    });
  });

  it("counts updates, deletions and both orders of replacement like HCP Terraform", () => {
    const summary = parsePlanJson(
      plan(
        [
          rc("null_resource.created", ["create"]),
          rc("null_resource.updated", ["update"]),
          rc("null_resource.deleted", ["delete"], { action_reason: "delete_because_no_resource_config" }),
          rc("null_resource.replaced", ["delete", "create"], { action_reason: "replace_by_request" }),
          rc("null_resource.cbd", ["create", "delete"], { action_reason: "replace_because_cannot_update" }),
          rc("null_resource.same", ["no-op"]),
          rc("data.null_data_source.read", ["read"]),
        ],
        undefined,
        true,
      ),
    );
    expect(summary).toEqual({ hasChanges: true, resourceAdditions: 3, resourceChanges: 1, resourceDestructions: 3, resourceImports: 0 });
  });

  it("counts imports, alongside an update when the imported object differs", () => {
    const summary = parsePlanJson(
      plan(
        [
          rc("null_resource.imported", ["no-op"], {}, { importing: { id: "i-123" } }),
          rc("null_resource.imported_changed", ["update"], {}, { importing: { id: "i-456" } }),
        ],
        undefined,
        true,
      ),
    );
    expect(summary).toEqual({ hasChanges: true, resourceAdditions: 0, resourceChanges: 1, resourceDestructions: 0, resourceImports: 2 });
  });

  it("reports no changes for a plan of no-ops", () => {
    const doc = plan([rc("null_resource.a", ["no-op"])], { id: outputChange(["no-op"]) });
    expect(parsePlanJson(doc)).toEqual({ hasChanges: false, resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 0, resourceImports: 0 });
  });

  it("reports changes when only outputs change", () => {
    const summary = parsePlanJson(plan(undefined, { greeting: outputChange(["create"]) }));
    expect(summary).toEqual({ hasChanges: true, resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 0, resourceImports: 0 });
  });

  it("reports changes for an applyable refresh-only plan without resource changes", () => {
    const doc = { ...plan(undefined, undefined, true), resource_drift: [rc("null_resource.a", ["delete"])] };
    expect(parsePlanJson(doc).hasChanges).toBe(true);
    expect(parsePlanJson(doc).resourceDestructions).toBe(0);
  });

  it("accepts the JSON text as well as the parsed document, ignoring unknown fields and actions", () => {
    const text = JSON.stringify({ ...plan([rc("null_resource.a", ["forget"]), rc("null_resource.b", ["create"])]), future_field: 1 });
    expect(parsePlanJson(text).resourceAdditions).toBe(1);
    expect(parsePlanJson(Buffer.from(text)).resourceAdditions).toBe(1);
  });

  it("rejects documents that are not plans", () => {
    expect(() => parsePlanJson("not json")).toThrow(InvalidPlanJsonError);
    expect(() => parsePlanJson([])).toThrow(/JSON object/);
    expect(() => parsePlanJson({ resource_changes: {} })).toThrow(/resource_changes must be an array/);
    expect(() => parsePlanJson({ resource_changes: [{ address: "a.b", change: {} }] })).toThrow(/resource_changes\[0\]\.change\.actions/);
    expect(() => parsePlanJson({ output_changes: { o: { actions: "create" } } })).toThrow(/output_changes\.o\.actions/);
  });
});

import { readFileSync } from "node:fs";
import path from "node:path";
import { buildRedactedPlan, PlanDocumentError, pruneProviderSchemas, redactChange, REDACTED_CHANGED_VALUE, REDACTED_VALUE } from "./redacted-plan";

// Captured from terraform v1.11.4: an update of a terraform_data whose input holds a sensitive
// variable ("s3cr3t" → "other"), a sensitive output and a plain one.
const fixture = (name: string) => readFileSync(path.join(__dirname, "fixtures", name));
const planJson = fixture("update-plan.tf1.11.json");
const schemasJson = fixture("builtin-schemas.tf1.11.json");
const BUILTIN = "terraform.io/builtin/terraform";

type Doc = Record<string, any>;

describe("buildRedactedPlan", () => {
  const doc = buildRedactedPlan(planJson, schemasJson) as Doc;

  it("carries exactly the fields jsonformat.Plan decodes", () => {
    expect(Object.keys(doc).sort()).toEqual(
      ["output_changes", "plan_format_version", "provider_format_version", "provider_schemas", "relevant_attributes", "resource_changes"].sort(),
    );
    expect(doc.plan_format_version).toBe("1.2");
    expect(doc.provider_format_version).toBe("1.0");
    expect(doc.provider_schemas[BUILTIN].resource_schemas.terraform_data.block.attributes.input.type).toBe("dynamic");
  });

  it("never contains a value terraform marked sensitive, nor the plan's variables", () => {
    const text = JSON.stringify(doc);
    // The new value appears only under marked paths and in `variables`. (The old one is also in
    // terraform_data's `output`, which terraform 1.11 itself does not mark: it is shown as is.)
    expect(text).not.toContain("other");
    expect(doc.resource_changes[0].change.before.input.s).toBe(REDACTED_VALUE);
    expect(doc.variables).toBeUndefined();
    expect(doc.configuration).toBeUndefined();
  });

  it("keeps a changed sensitive value different and unmarked values as they were", () => {
    const change = doc.resource_changes[0].change;
    expect(change.actions).toEqual(["update"]);
    expect(change.before.input).toEqual({ s: REDACTED_VALUE, x: "hello" });
    expect(change.after.input).toEqual({ s: REDACTED_CHANGED_VALUE, x: "hello" });
    expect(change.before.id).toBe(change.after.id);
  });

  it("keeps sensitive and unknown markers intact", () => {
    const original = JSON.parse(planJson.toString()) as Doc;
    const change = doc.resource_changes[0].change;
    const before = original.resource_changes[0].change;
    expect(change.before_sensitive).toEqual(before.before_sensitive);
    expect(change.after_sensitive).toEqual(before.after_sensitive);
    expect(change.after_unknown).toEqual(before.after_unknown);
    expect(doc.output_changes.o).toMatchObject({ before: REDACTED_VALUE, after_unknown: true, before_sensitive: true, after_sensitive: true });
    expect(doc.output_changes.o.after).toBeUndefined();
    expect(doc.output_changes.p).toMatchObject({ before: "plain", after: "plain" });
  });

  it("refuses a plan whose resource's schema is missing, where the CLI would crash", () => {
    expect(() => buildRedactedPlan(planJson, null)).toThrow(PlanDocumentError);
    expect(() => buildRedactedPlan(planJson, { format_version: "1.0", provider_schemas: { [BUILTIN]: { resource_schemas: {} } } })).toThrow(
      /no schema for terraform_data\.a/,
    );
  });

  it("serves a plan without resource changes without any schemas", () => {
    const empty = buildRedactedPlan({ format_version: "1.2", output_changes: { p: { actions: ["create"], before: null, after: 1 } } }, null) as Doc;
    expect(empty).toEqual({
      plan_format_version: "1.2",
      output_changes: { p: { actions: ["create"], before: null, after: 1 } },
      provider_format_version: "1.0",
      provider_schemas: {},
    });
  });

  it("redacts inside drift and deferred changes too", () => {
    const rc = (v: string) => ({
      address: "terraform_data.a",
      mode: "managed",
      type: "terraform_data",
      provider_name: BUILTIN,
      change: { actions: ["update"], before: { input: "old-secret" }, after: { input: v }, before_sensitive: { input: true }, after_sensitive: { input: true } },
    });
    const out = buildRedactedPlan({ format_version: "1.2", resource_drift: [rc("drifted-secret")], deferred_changes: [{ reason: "x", resource_change: rc("deferred-secret") }] }, schemasJson);
    expect(JSON.stringify(out)).not.toMatch(/secret/);
  });

  it("rejects documents that are not JSON objects", () => {
    expect(() => buildRedactedPlan("[]", schemasJson)).toThrow(PlanDocumentError);
    expect(() => buildRedactedPlan("{", schemasJson)).toThrow(/not JSON/);
  });
});

describe("redactChange", () => {
  it("keeps null as null, so a created or deleted sensitive value stays a create or delete", () => {
    expect(redactChange({ before: null, after: "x", before_sensitive: false, after_sensitive: true })).toMatchObject({ before: null, after: REDACTED_CHANGED_VALUE });
    expect(redactChange({ before: "x", after: null, before_sensitive: true, after_sensitive: false })).toMatchObject({ before: REDACTED_VALUE, after: null });
  });

  it("gives equal sensitive values the same token, so an unchanged value stays unchanged", () => {
    const out = redactChange({ before: { a: [1, 2] }, after: { a: [1, 2] }, before_sensitive: { a: true }, after_sensitive: { a: true } }) as Doc;
    expect(out.before.a).toBe(REDACTED_VALUE);
    expect(out.after.a).toBe(REDACTED_VALUE);
  });

  it("follows list indexes in the markers", () => {
    const out = redactChange({ before: ["a", "b"], after: ["a", "c", "d"], before_sensitive: [false, true], after_sensitive: [false, true, true] }) as Doc;
    expect(out.before).toEqual(["a", REDACTED_VALUE]);
    expect(out.after).toEqual(["a", REDACTED_CHANGED_VALUE, REDACTED_CHANGED_VALUE]);
  });

  it("leaves absent values absent", () => {
    expect(redactChange({ actions: ["create"], before: null, after_unknown: true, before_sensitive: false, after_sensitive: true })).toEqual({
      actions: ["create"],
      before: null,
      after_unknown: true,
      before_sensitive: false,
      after_sensitive: true,
    });
  });
});

describe("pruneProviderSchemas", () => {
  it("keeps only the providers and resource types the plan refers to", () => {
    const pruned = pruneProviderSchemas(schemasJson, planJson) as Doc;
    expect(Object.keys(pruned.provider_schemas)).toEqual([BUILTIN]);
    expect(Object.keys(pruned.provider_schemas[BUILTIN].resource_schemas)).toEqual(["terraform_data"]);
    expect(pruned.provider_schemas[BUILTIN].data_source_schemas).toEqual({});
    expect(pruned.format_version).toBe("1.0");
    expect(() => buildRedactedPlan(planJson, pruned)).not.toThrow();
  });

  it("keeps nothing for a plan without changes", () => {
    expect(pruneProviderSchemas(schemasJson, { format_version: "1.2" })).toMatchObject({ provider_schemas: {} });
  });
});

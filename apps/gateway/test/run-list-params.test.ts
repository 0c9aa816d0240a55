import { parseActionComment } from "../src/routes/run-actions";
import { parseListPage } from "../src/http/run-visibility";
import { parseRunListFilter } from "../src/routes/run-lists";

describe("parseRunListFilter", () => {
  it("hides plan-only runs from the workspace list unless filter[operation] is given", () => {
    expect(parseRunListFilter({}, false)).toEqual({ excludePlanOnly: true });
    expect(parseRunListFilter({}, true)).toEqual({ excludePlanOnly: false });
    expect(parseRunListFilter({ filter: { operation: "plan_only,destroy" } }, false)).toEqual({ operations: ["plan_only", "destroy"] });
  });

  it("keeps only known operations and statuses, so unknown ones match nothing", () => {
    expect(parseRunListFilter({ filter: { operation: "bogus" } }, false).operations).toEqual([]);
    expect(parseRunListFilter({ filter: { status: "applied,bogus" } }, false).statuses).toEqual(["applied"]);
  });

  it("turns a status group into statuses and intersects it with filter[status]", () => {
    expect(parseRunListFilter({ filter: { status_group: "discardable" } }, false).statuses).toEqual([
      "planned",
      "planned_and_saved",
      "cost_estimated",
      "policy_checked",
      "policy_override",
      "post_plan_running",
      "post_plan_completed",
    ]);
    expect(parseRunListFilter({ filter: { status_group: "final", status: "applied,planned" } }, false).statuses).toEqual(["applied"]);
    expect(parseRunListFilter({ filter: { status_group: "nope" } }, false).statuses).toEqual([]);
  });

  it("reads workspace names only on the organization list, and strips NUL from searches", () => {
    expect(parseRunListFilter({ filter: { workspace_names: "a,b" } }, false).workspaceNames).toBeUndefined();
    expect(parseRunListFilter({ filter: { workspace_names: "a,b" } }, true).workspaceNames).toEqual(["a", "b"]);
    expect(parseRunListFilter({ search: { basic: "a\u0000b", user: "u", commit: "c" } }, true)).toMatchObject({ basic: "ab", user: "u", commit: "c" });
    expect(parseRunListFilter({ "filter[source]": "tfe-ui", "filter[agent_pool_names]": "p" }, true)).toMatchObject({
      sources: ["tfe-ui"],
      agentPoolNames: ["p"],
    });
  });
});

describe("parseListPage", () => {
  it("clamps page numbers that would overflow an offset", () => {
    expect(parseListPage({ page: { number: "20000000", size: "100" } })).toEqual({ number: 10_000_000, size: 100, offset: 999_999_900 });
    expect(parseListPage({ page: { number: "3", size: "10" } })).toEqual({ number: 3, size: 10, offset: 20 });
  });
});

describe("parseActionComment", () => {
  it("reads the plain and the wrapped forms, and treats an absent or blank comment as none", () => {
    expect(parseActionComment(undefined)).toBeNull();
    expect(parseActionComment(null)).toBeNull();
    expect(parseActionComment({})).toBeNull();
    expect(parseActionComment({ comment: "  " })).toBeNull();
    expect(parseActionComment({ comment: "why" })).toBe("why");
    expect(parseActionComment({ data: { type: "", attributes: { comment: "wrapped" } } })).toBe("wrapped");
  });

  it("refuses non-object bodies and non-string comments", () => {
    expect(() => parseActionComment([])).toThrow(expect.objectContaining({ status: 422 }));
    expect(() => parseActionComment("x")).toThrow(expect.objectContaining({ status: 422 }));
    expect(() => parseActionComment({ comment: 1 })).toThrow(expect.objectContaining({ status: 422, source: { pointer: "/comment" } }));
    expect(() => parseActionComment({ data: { attributes: { comment: [] } } })).toThrow(
      expect.objectContaining({ source: { pointer: "/data/attributes/comment" } }),
    );
  });
});

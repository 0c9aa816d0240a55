import {
  applyIdFor,
  BASE58_ALPHABET,
  ID_PREFIXES,
  idSchema,
  isId,
  newId,
  planIdFor,
  randomBase58,
  runIdForApply,
  runIdForPlan,
} from "./ids";

describe("ids", () => {
  it("mints run ids in HCP's form", () => {
    for (let i = 0; i < 200; i++) expect(newId("run")).toMatch(/^run-[1-9A-HJ-NP-Za-km-z]{16}$/);
  });

  it("mints distinct ids", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId("ws")));
    expect(ids.size).toBe(1000);
  });

  it("supports every prefix HCP uses", () => {
    for (const prefix of ["run", "ws", "cv", "plan", "apply", "sv", "wsout", "user", "team", "org", "prj", "re", "wsc", "ce", "polchk", "ts", "ia", "at", "var"] as const) {
      expect(ID_PREFIXES).toContain(prefix);
      const id = newId(prefix);
      expect(id.startsWith(`${prefix}-`)).toBe(true);
      expect(isId(prefix, id)).toBe(true);
    }
  });

  it("uses the bitcoin base58 alphabet", () => {
    expect(BASE58_ALPHABET).toBe("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz");
    const seen = new Set(Array.from({ length: 300 }, () => newId("run").slice(4)).join(""));
    for (const c of "0OIl") expect(seen.has(c)).toBe(false);
  });

  it("drops bytes that would bias the alphabet", () => {
    // 232..255 are rejected; 0 → "1", 57 → "z", 58 → "1", 231 → "z".
    const script = [[232, 255, 0, 57, 58, 231], [240, 1]];
    const random = (size: number) => {
      const next = script.shift() ?? [];
      return Uint8Array.from({ length: size }, (_, i) => next[i] ?? 255);
    };
    expect(randomBase58(5, random)).toBe("1z1z2");
  });

  it("recognises ids only with the right prefix and a 16-character base58 suffix", () => {
    expect(isId("run", "run-CZcmD7eagjhyX9vN")).toBe(true);
    expect(isId("run", "run-CZcmD7eagjhyX0vN")).toBe(false);
    expect(isId("run", "run-CZcmD7eagjhyX9v")).toBe(false);
    expect(isId("run", "run-CZcmD7eagjhyX9vNN")).toBe(false);
    expect(isId("run", "ws-CZcmD7eagjhyX9vN")).toBe(false);
    expect(isId("plan", "apply-CZcmD7eagjhyX9vN")).toBe(false);
    expect(isId("run", " run-CZcmD7eagjhyX9vN")).toBe(false);
    expect(isId("run", 42)).toBe(false);
    expect(idSchema("ws").safeParse("ws-6jrRyVDv1J8zQMB5").success).toBe(true);
    expect(idSchema("ws").safeParse("ws-../../etc/passwd").success).toBe(false);
  });

  it("derives plan and apply ids from the run id and back", () => {
    expect(planIdFor("run-CZcmD7eagjhyX9vN")).toBe("plan-CZcmD7eagjhyX9vN");
    expect(applyIdFor("run-CZcmD7eagjhyX9vN")).toBe("apply-CZcmD7eagjhyX9vN");
    expect(runIdForPlan("plan-CZcmD7eagjhyX9vN")).toBe("run-CZcmD7eagjhyX9vN");
    expect(runIdForApply("apply-CZcmD7eagjhyX9vN")).toBe("run-CZcmD7eagjhyX9vN");
    const runId = newId("run");
    expect(runIdForPlan(planIdFor(runId))).toBe(runId);
    expect(runIdForApply(applyIdFor(runId))).toBe(runId);
  });

  it("refuses to derive from the wrong kind of id", () => {
    expect(() => planIdFor("ws-CZcmD7eagjhyX9vN")).toThrow(TypeError);
    expect(() => applyIdFor("plan-CZcmD7eagjhyX9vN")).toThrow(TypeError);
    expect(runIdForPlan("apply-CZcmD7eagjhyX9vN")).toBeNull();
    expect(runIdForApply("plan-CZcmD7eagjhyX9vN")).toBeNull();
    expect(runIdForPlan("plan-short")).toBeNull();
  });
});

import { checkHclLiteral, isHclLiteral } from "./hcl-literal";

describe("isHclLiteral", () => {
  it.each([
    ['"ABCDE"'],
    ['"with \\"escaped\\" quotes and \\n \\t \\\\ \\u00e9 \\U0001F600"'],
    ['""'],
    ['"literal $${not_a_template} and %%{nope}"'],
    ["2"],
    ["-3.5"],
    ["1e10"],
    ["6.02E-23"],
    ["true"],
    ["false"],
    ["null"],
    ["[]"],
    ['[1, "two", true, null]'],
    ['[\n  "a",\n  "b",\n]'],
    ["{}"],
    ['{ a = 1, "b" = "two" }'],
    ['{\n  name = "x"\n  tags = ["a", "b"]\n  nested = { deep = [ { k: 1 } ] }\n}'],
    ["  42  "],
  ])("accepts %s", (value) => {
    expect(checkHclLiteral(value)).toEqual({ ok: true });
  });

  it.each([
    [""],
    ["ABCDE"],
    ["var.foo"],
    ['upper("x")'],
    ["1 + 2"],
    ['"unterminated'],
    ['"bad escape \\q"'],
    ['"template ${var.x}"'],
    ['"directive %{ if true }x%{ endif }"'],
    ["[1, 2"],
    ["[1 2]"],
    ["{ a = }"],
    ["{ = 1 }"],
    ["{ a 1 }"],
    ["1.2.3"],
    ["0x10"],
    ['"a" "b"'],
    ['"\\u12"'],
    ["[1,,2]"],
    ["truex"],
  ])("refuses %s", (value) => {
    const result = checkHclLiteral(value);
    expect(result.ok).toBe(false);
    expect(isHclLiteral(value)).toBe(false);
  });

  it("says where the problem is", () => {
    const result = checkHclLiteral('["a", var.b]');
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("offset 6") });
  });
});

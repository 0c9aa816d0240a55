import { ansiSegments } from "./ansi";

describe("ansiSegments", () => {
  it("turns terraform's colours into classed segments and drops other escapes and the log framing", () => {
    const text = "\u0002\u001b[0m\u001b[1m\u001b[32mApply complete!\u001b[0m Resources: \u001b[31m1\u001b[39m destroyed\u001b[2K\n\u0003";
    expect(ansiSegments(text)).toEqual([
      ["ansi-32 ansi-bold", "Apply complete!"],
      ["", " Resources: "],
      ["ansi-31", "1"],
      ["", " destroyed\n"],
    ]);
  });

  it("leaves plain text alone, markup included (it is rendered as text)", () => {
    expect(ansiSegments("<b>plain</b>\n")).toEqual([["", "<b>plain</b>\n"]]);
  });
});

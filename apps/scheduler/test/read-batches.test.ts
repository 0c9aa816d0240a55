import { batchedRead } from "../src/engine/read-batches";

describe("batchedRead", () => {
  function counted(fail = false) {
    const loads: string[][] = [];
    const read = batchedRead(async (keys: string[]) => {
      loads.push(keys);
      if (fail) throw new Error("database away");
      return new Map(keys.filter((k) => k !== "missing").map((k) => [k, `value of ${k}`]));
    }, 3);
    return { loads, read };
  }

  it("answers the reads asked in one turn with one load, each its own value", async () => {
    const { loads, read } = counted();
    const answers = await Promise.all(["a", "b", "missing"].map((k) => read(k)));
    expect(answers).toEqual(["value of a", "value of b", undefined]);
    expect(loads).toEqual([["a", "b", "missing"]]);
  });

  it("loads a key asked twice in a turn once, and splits a turn's keys into loads of at most maxBatch", async () => {
    const { loads, read } = counted();
    const answers = await Promise.all(["a", "a", "b", "c", "d"].map((k) => read(k)));
    expect(answers).toEqual(["value of a", "value of a", "value of b", "value of c", "value of d"]);
    expect(loads).toEqual([["a", "b"], ["c", "d"]]);
  });

  it("loads again for reads asked in a later turn", async () => {
    const { loads, read } = counted();
    expect(await read("a")).toBe("value of a");
    expect(await read("b")).toBe("value of b");
    expect(loads).toEqual([["a"], ["b"]]);
  });

  it("fails every read of a batch whose load failed, and the next turn loads anew", async () => {
    const { loads, read } = counted(true);
    const results = await Promise.allSettled([read("a"), read("b")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error("database away"));
    await expect(read("c")).rejects.toThrow("database away");
    expect(loads).toEqual([["a", "b"], ["c"]]);
  });
});

import { mkdtemp, rename, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BinaryVersions } from "@tarmac/runner";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-binary-versions-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("BinaryVersions", () => {
  it("remembers a version per file and forgets it when the file is replaced or rewritten", async () => {
    const bin = path.join(dir, "terraform");
    await writeFile(bin, "v1");
    const versions = new BinaryVersions();
    const first = await versions.keyOf(bin);
    expect(first).not.toBeNull();
    versions.set(first!, "1.9.8");
    expect(versions.get((await versions.keyOf(bin))!)).toBe("1.9.8");

    // An upgrade that renames a new file over the old one: another inode.
    const next = path.join(dir, "terraform.new");
    await writeFile(next, "v2");
    await rename(next, bin);
    expect(versions.get((await versions.keyOf(bin))!)).toBeUndefined();

    // Rewritten in place with the same size: the modification time moves.
    const key = (await versions.keyOf(bin))!;
    versions.set(key, "1.10.0");
    await writeFile(bin, "v3");
    await utimes(bin, new Date(), new Date(Date.now() + 5_000));
    expect(versions.get((await versions.keyOf(bin))!)).toBeUndefined();
  });

  it("has no key for a file it cannot read, and keeps at most its bound, oldest out first", async () => {
    const versions = new BinaryVersions(2);
    expect(await versions.keyOf(path.join(dir, "missing"))).toBeNull();
    versions.set("a", "1");
    versions.set("b", "2");
    versions.set("a", "1"); // used again: now the newest
    versions.set("c", "3");
    expect(versions.get("b")).toBeUndefined();
    expect(versions.get("a")).toBe("1");
    expect(versions.get("c")).toBe("3");
  });
});

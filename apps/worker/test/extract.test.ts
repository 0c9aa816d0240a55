import { mkdtemp, readdir, readFile, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { create } from "tar";
import { DEFAULT_EXTRACT_LIMITS, entryProblem, extractConfiguration, UnsafeArchiveError } from "@tarmac/runner";
import { parseApplyCounts } from "@tarmac/runner";
import { resolveWorkingDir } from "@tarmac/runner";

describe("archive entry checks", () => {
  it.each([
    [{ path: "main.tf", type: "File" }, null],
    [{ path: "modules/net/main.tf", type: "File" }, null],
    [{ path: "modules/", type: "Directory" }, null],
    [{ path: "modules/link", type: "SymbolicLink", linkpath: "../main.tf" }, null],
    [{ path: "hard", type: "Link", linkpath: "modules/net/main.tf" }, null],
  ])("accepts %j", (entry, expected) => {
    expect(entryProblem(entry as never)).toBe(expected);
  });

  it.each([
    [{ path: "/etc/passwd", type: "File" }, /absolute/],
    [{ path: "../x.tf", type: "File" }, /leaves/],
    [{ path: "a/../../x.tf", type: "File" }, /leaves/],
    [{ path: "C:/x.tf", type: "File" }, /absolute/],
    [{ path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" }, /outside/],
    [{ path: "a/link", type: "SymbolicLink", linkpath: "../../etc" }, /outside/],
    [{ path: "link", type: "SymbolicLink", linkpath: ".." }, /outside/],
    [{ path: "hard", type: "Link", linkpath: "../outside" }, /outside/],
    [{ path: "dev", type: "CharacterDevice" }, /CharacterDevice/],
    [{ path: "blk", type: "BlockDevice" }, /BlockDevice/],
    [{ path: "fifo", type: "FIFO" }, /FIFO/],
  ])("refuses %j", (entry, expected) => {
    expect(entryProblem(entry as never)).toMatch(expected);
  });
});

describe("extractConfiguration", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "extract-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("extracts nothing from an archive with a symlink leaving the root", async () => {
    const src = path.join(dir, "src");
    await mkdir(src);
    await writeFile(path.join(src, "main.tf"), "");
    await symlink("/etc", path.join(src, "etc"));
    const archive = path.join(dir, "a.tar.gz");
    await create({ gzip: true, file: archive, cwd: src }, ["main.tf", "etc"]);
    const out = path.join(dir, "out");
    await mkdir(out);
    await expect(extractConfiguration(archive, out)).rejects.toThrow(UnsafeArchiveError);
    expect(await readdir(out)).toEqual([]);
  });

  it("refuses an archive that unpacks beyond the size limit", async () => {
    const src = path.join(dir, "src");
    await mkdir(src);
    await writeFile(path.join(src, "big.tf"), Buffer.alloc(64 * 1024, 0x20));
    const archive = path.join(dir, "a.tar.gz");
    await create({ gzip: true, file: archive, cwd: src }, ["big.tf"]);
    const out = path.join(dir, "out");
    await mkdir(out);
    await expect(extractConfiguration(archive, out, { ...DEFAULT_EXTRACT_LIMITS, maxUnpackedBytes: 1024, maxEntries: 10 })).rejects.toThrow(/unpacks to more than 1024 bytes/);
  });

  it("refuses 24 MiB of zeros after the tar's end marker quickly, with the gateway's bounds", async () => {
    const src = path.join(dir, "src");
    await mkdir(src);
    await writeFile(path.join(src, "main.tf"), "# x\n");
    const tar = path.join(dir, "a.tar");
    await create({ file: tar, cwd: src }, ["main.tf"]);
    const archive = path.join(dir, "a.tar.gz");
    await writeFile(archive, gzipSync(Buffer.concat([await readFile(tar), Buffer.alloc(24 * 1024 * 1024)]), { level: 9 }));
    const out = path.join(dir, "out");
    await mkdir(out);
    const started = performance.now();
    await expect(extractConfiguration(archive, out)).rejects.toThrow(/follow the end of the tar archive/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await readdir(out)).toEqual([]);
  });

  it("refuses bytes that are not a tar.gz", async () => {
    const archive = path.join(dir, "a.tar.gz");
    await writeFile(archive, "this is not an archive");
    await expect(extractConfiguration(archive, dir)).rejects.toThrow(UnsafeArchiveError);
  });
});

describe("worker helpers", () => {
  it("reads the counts of the apply summary line", () => {
    expect(parseApplyCounts("x\nApply complete! Resources: 2 added, 1 changed, 3 destroyed.\n")).toEqual({
      resourceImports: 0,
      resourceAdditions: 2,
      resourceChanges: 1,
      resourceDestructions: 3,
    });
    expect(parseApplyCounts("Apply complete! Resources: 4 imported, 0 added, 0 changed, 0 destroyed.")).toMatchObject({ resourceImports: 4 });
    expect(parseApplyCounts("Error: boom")).toEqual({ resourceImports: 0, resourceAdditions: 0, resourceChanges: 0, resourceDestructions: 0 });
  });

  it("keeps the working directory inside the configuration", () => {
    expect(resolveWorkingDir("/sb/config", null)).toBe("/sb/config");
    expect(resolveWorkingDir("/sb/config", "/infra/")).toBe("/sb/config/infra");
    expect(() => resolveWorkingDir("/sb/config", "../etc")).toThrow(/leaves/);
    expect(() => resolveWorkingDir("/sb/config", "a/../../etc")).toThrow(/leaves/);
  });
});

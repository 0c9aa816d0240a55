import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { resolveTerraformBin } from "./binary";

async function executable(file: string, mode = 0o755): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, "#!/bin/sh\nexit 0\n");
  await chmod(file, mode);
  return file;
}

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-bin-"));
  tempDirs.push(dir);
  return dir;
}

describe("resolveTerraformBin", () => {
  it("uses an explicit executable path before anything else", async () => {
    const dir = await tempDir();
    const bin = await executable(path.join(dir, "custom", "tf"));
    await executable(path.join(dir, "versions", "1.9.8", "terraform"));
    const resolved = await resolveTerraformBin({ explicitBin: bin, versionsDir: path.join(dir, "versions"), version: "1.9.8", searchPath: "" });
    expect(resolved).toEqual({ ok: true, path: bin });
  });

  it("looks an explicit command name up on the search path", async () => {
    const dir = await tempDir();
    const bin = await executable(path.join(dir, "path2", "tofu"));
    expect(await resolveTerraformBin({ explicitBin: "tofu", searchPath: `${path.join(dir, "path1")}:${path.join(dir, "path2")}` })).toEqual({ ok: true, path: bin });
  });

  it("reports an explicit binary that cannot run", async () => {
    const dir = await tempDir();
    const notExecutable = await executable(path.join(dir, "tf"), 0o644);
    const resolved = await resolveTerraformBin({ explicitBin: notExecutable, searchPath: "" });
    expect(resolved).toEqual({ ok: false, message: expect.stringContaining("is not an executable file") });
    expect(await resolveTerraformBin({ explicitBin: "no-such-terraform", searchPath: dir })).toMatchObject({ ok: false });
  });

  it("picks the requested version from the versions directory", async () => {
    const dir = await tempDir();
    const versions = path.join(dir, "versions");
    const wanted = await executable(path.join(versions, "1.9.8", "terraform"));
    await executable(path.join(versions, "1.5.7", "terraform"));
    await executable(path.join(dir, "bin", "terraform"));
    expect(await resolveTerraformBin({ versionsDir: versions, version: "1.9.8", searchPath: path.join(dir, "bin") })).toEqual({ ok: true, path: wanted });
  });

  it("falls back to terraform on the search path", async () => {
    const dir = await tempDir();
    const onPath = await executable(path.join(dir, "bin", "terraform"));
    const resolved = await resolveTerraformBin({ versionsDir: path.join(dir, "versions"), version: "1.9.8", searchPath: path.join(dir, "bin") });
    expect(resolved).toEqual({ ok: true, path: onPath });
  });

  it("never turns a version that is not exact into a path", async () => {
    const dir = await tempDir();
    const versions = path.join(dir, "versions");
    await executable(path.join(dir, "escape", "terraform"));
    const resolved = await resolveTerraformBin({ versionsDir: versions, version: "../escape", searchPath: "" });
    expect(resolved.ok).toBe(false);
  });

  it("explains what to do when no terraform is available", async () => {
    const dir = await tempDir();
    const versions = path.join(dir, "versions");
    expect(await resolveTerraformBin({ versionsDir: versions, version: "1.9.8", searchPath: path.join(dir, "empty") })).toEqual({
      ok: false,
      message: `terraform 1.9.8 is not available on this worker: set TARMAC_TERRAFORM_BIN or install it under ${path.join(versions, "1.9.8")}`,
    });
  });
});

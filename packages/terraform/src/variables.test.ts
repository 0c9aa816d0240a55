import { existsSync } from "node:fs";
import { mkdtemp, rm, readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { encodeHclString, InvalidVariableError, VARIABLES_FILE, writeVariables } from "./variables";
import { BACKEND_OVERRIDE_FILE, writeLocalBackendOverride } from "./backend";

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-vars-"));
  tempDirs.push(dir);
  return dir;
}

describe("writeVariables", () => {
  it("writes terraform variables to an auto.tfvars file and returns env variables", async () => {
    const dir = await tempDir();
    const written = await writeVariables(dir, [
      { key: "name", value: "web", category: "terraform", hcl: false },
      { key: "instances", value: "3", category: "terraform", hcl: true },
      { key: "tags", value: '{ team = "infra" }', category: "terraform", hcl: true },
      { key: "AWS_REGION", value: "eu-west-1", category: "env", hcl: false },
    ]);
    expect(written.tfvarsPath).toBe(path.join(dir, VARIABLES_FILE));
    expect(VARIABLES_FILE).toMatch(/\.auto\.tfvars$/);
    expect(await readFile(path.join(dir, VARIABLES_FILE), "utf8")).toBe('name = "web"\ninstances = 3\ntags = { team = "infra" }\n');
    expect(written.env).toEqual({ AWS_REGION: "eu-west-1" });
    expect((await stat(path.join(dir, VARIABLES_FILE))).mode & 0o777).toBe(0o600);
  });

  it("keeps the last value of a key given twice", async () => {
    const dir = await tempDir();
    await writeVariables(dir, [
      { key: "name", value: "workspace", category: "terraform", hcl: false },
      { key: "name", value: "run", category: "terraform", hcl: false },
    ]);
    expect(await readFile(path.join(dir, VARIABLES_FILE), "utf8")).toBe('name = "run"\n');
  });

  it("writes no file without terraform variables", async () => {
    const dir = await tempDir();
    expect(await writeVariables(dir, [{ key: "A", value: "1", category: "env", hcl: false }])).toEqual({ tfvarsPath: null, env: { A: "1" } });
    expect(existsSync(path.join(dir, VARIABLES_FILE))).toBe(false);
  });

  it("refuses names terraform or the environment cannot carry", async () => {
    const dir = await tempDir();
    await expect(writeVariables(dir, [{ key: "bad name", value: "x", category: "terraform", hcl: false }])).rejects.toThrow(InvalidVariableError);
    await expect(writeVariables(dir, [{ key: "A=B", value: "x", category: "env", hcl: false }])).rejects.toThrow(InvalidVariableError);
    await expect(writeVariables(dir, [{ key: "a", value: "x\0y", category: "env", hcl: false }])).rejects.toThrow(/NUL/);
    await expect(writeVariables(dir, [{ key: "a", value: " ", category: "terraform", hcl: true }])).rejects.toThrow(/empty/);
  });
});

describe("encodeHclString", () => {
  it("escapes quotes, backslashes, control characters and template sequences", () => {
    expect(encodeHclString('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(encodeHclString("line1\nline2\r\t\u0001")).toBe('"line1\\nline2\\r\\t\\u0001"');
    expect(encodeHclString("${var.x} %{if} $ % {")).toBe('"$${var.x} %%{if} $ % {"');
    expect(encodeHclString("ünïcode ✓")).toBe('"ünïcode ✓"');
  });
});

describe("writeLocalBackendOverride", () => {
  it("writes a terraform override file selecting the local backend", async () => {
    const dir = await tempDir();
    const file = await writeLocalBackendOverride(dir);
    expect(path.basename(file)).toBe(BACKEND_OVERRIDE_FILE);
    expect(BACKEND_OVERRIDE_FILE).toMatch(/_override\.tf$/);
    expect(await readFile(file, "utf8")).toMatch(/terraform \{\n\s+backend "local" \{\}\n\}/);
  });
});

/**
 * Uploaded configurations usually declare a `cloud` block (or a `remote` backend) pointing at us.
 * Inside the worker terraform must keep state locally instead of calling back; an override file
 * replaces that block (terraform's override semantics: a `backend` block in an override file
 * replaces both a `backend` and a `cloud` block of the configuration).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";

export const BACKEND_OVERRIDE_FILE = "zz_tarmac_backend_override.tf";

const CONTENT = `# Written by Tarmac: the run keeps its state in this working directory.
terraform {
  backend "local" {}
}
`;

export async function writeLocalBackendOverride(dir: string): Promise<string> {
  const file = path.join(dir, BACKEND_OVERRIDE_FILE);
  await writeFile(file, CONTENT);
  return file;
}

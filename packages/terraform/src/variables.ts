/**
 * Workspace and run variables, handed to terraform the way HCP Terraform does: terraform
 * variables in an auto-loaded tfvars file, environment variables in the process environment.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";

export interface RunVariable {
  key: string;
  value: string;
  category: "terraform" | "env";
  /** For terraform variables: `value` is an HCL expression (`"\"abc\""`, `2`, `["a"]`) rather than a plain string. */
  hcl: boolean;
}

export interface WrittenVariables {
  /** The tfvars file written, or null when there are no terraform variables. */
  tfvarsPath: string | null;
  /** The environment variables to add to terraform's environment. */
  env: Record<string, string>;
}

/** Sorts after most tfvars files of a configuration, so run variables win like on HCP. */
export const VARIABLES_FILE = "zz_tarmac_variables.auto.tfvars";

export class InvalidVariableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidVariableError";
  }
}

const TERRAFORM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A quoted HCL string whose content is exactly `value`: escapes, and `${`/`%{` kept literal. */
export function encodeHclString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const next = value[i + 1];
    const code = ch.charCodeAt(0);
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if ((ch === "$" || ch === "%") && next === "{") out += ch + ch;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * Writes `dir/zz_tarmac_variables.auto.tfvars` (mode 0600: values may be sensitive) and returns the
 * environment variables. A key given twice keeps its last value, so callers pass the lowest
 * precedence first (workspace variables, then run variables).
 */
export async function writeVariables(dir: string, vars: readonly RunVariable[]): Promise<WrittenVariables> {
  const terraformVars = new Map<string, string>();
  const env: Record<string, string> = {};
  for (const v of vars) {
    if (v.value.includes("\0")) throw new InvalidVariableError(`variable "${v.key}" has a NUL character in its value`);
    if (v.category === "env") {
      if (!ENV_NAME.test(v.key)) throw new InvalidVariableError(`"${v.key}" is not a valid environment variable name`);
      env[v.key] = v.value;
      continue;
    }
    if (!TERRAFORM_NAME.test(v.key)) throw new InvalidVariableError(`"${v.key}" is not a valid terraform variable name`);
    if (v.hcl && v.value.trim() === "") throw new InvalidVariableError(`HCL variable "${v.key}" has an empty value`);
    terraformVars.delete(v.key);
    terraformVars.set(v.key, v.hcl ? v.value : encodeHclString(v.value));
  }
  if (terraformVars.size === 0) return { tfvarsPath: null, env };
  const lines = [...terraformVars].map(([key, value]) => `${key} = ${value}\n`);
  const tfvarsPath = path.join(dir, VARIABLES_FILE);
  await writeFile(tfvarsPath, lines.join(""), { mode: 0o600 });
  return { tfvarsPath, env };
}

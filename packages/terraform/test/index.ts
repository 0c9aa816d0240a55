/**
 * The terraform test double, for tests only: an executable that speaks terraform's command line
 * (see terraform-double/README.md). Production code must never reference it; tests point the
 * worker's terraform binary setting at `terraformDoublePath`.
 */
import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export const terraformDoublePath = path.join(__dirname, "terraform-double", "terraform");
export const TERRAFORM_DOUBLE_PATH = terraformDoublePath;

/** The file, at the root of a configuration, that scripts the double's behaviour. */
export const DOUBLE_SCRIPT_FILE = "terraform-double.json";

export interface DoublePhaseScript {
  /** How long the phase takes; a progress line is printed every second meanwhile. */
  seconds?: number;
  /** The phase fails (Error: ... and exit 1) after its delay. */
  fail?: boolean;
  /** SIGINT is ignored for this many seconds after terraform started. */
  ignore_interrupt_seconds?: number;
}

export interface DoubleScript {
  plan?: DoublePhaseScript;
  apply?: DoublePhaseScript;
}

export async function writeDoubleScript(configDir: string, script: DoubleScript): Promise<void> {
  await writeFile(path.join(configDir, DOUBLE_SCRIPT_FILE), JSON.stringify(script));
}

/** One invocation, as the double appends it to the file named by TF_DOUBLE_RECORD. */
export interface DoubleInvocation {
  argv: string[];
  /** The working directory before -chdir. */
  cwd: string;
  /** TF_LOG, TF_LOG_PATH, TF_IN_AUTOMATION, TF_INPUT, TF_DATA_DIR, TF_WORKSPACE, TF_CLI_ARGS*, TF_VAR_*. */
  env: Record<string, string>;
  pid: number;
  time: string;
}

export async function readDoubleRecord(file: string): Promise<DoubleInvocation[]> {
  await appendFile(file, "");
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as DoubleInvocation);
}

import type { Phase } from "./subjects";
import { z } from "zod";

/**
 * What a worker learns about its run from `GET <jobUrl>/spec`: everything terraform needs
 * besides the configuration archive and the state. Sensitive variable values arrive decrypted
 * (the worker must pass them to terraform) and must never be logged.
 */
export const jobVariable = z.object({
  key: z.string(),
  value: z.string(),
  category: z.enum(["terraform", "env"]),
  /** terraform variables: the value is an HCL expression rather than a plain string. */
  hcl: z.boolean(),
  sensitive: z.boolean(),
});
export type JobVariable = z.infer<typeof jobVariable>;

export const jobSpec = z.object({
  runId: z.string(),
  planId: z.string(),
  applyId: z.string(),
  run: z.object({
    isDestroy: z.boolean(),
    refresh: z.boolean(),
    refreshOnly: z.boolean(),
    planOnly: z.boolean(),
    savePlan: z.boolean(),
    allowEmptyApply: z.boolean(),
    debuggingMode: z.boolean(),
    terraformVersion: z.string(),
    targetAddrs: z.array(z.string()),
    replaceAddrs: z.array(z.string()),
    /** Run variables: values are HCL literals, and they override workspace variables. */
    variables: z.array(z.object({ key: z.string(), value: z.string() })),
  }),
  workspace: z.object({
    id: z.string(),
    name: z.string(),
    workingDirectory: z.string().nullable(),
    terraformVersion: z.string(),
    /** structured-run-output-enabled: logs are terraform's JSON lines, which the CLI renders. */
    structuredRunOutput: z.boolean().optional(),
  }),
  variables: z.array(jobVariable),
});
export type JobSpec = z.infer<typeof jobSpec>;

/** Paths under a job URL (`capabilityPaths.job(runId, secret)`). */
export const jobPaths = {
  /**
   * GET: the spec, the configuration archive and the current state in one answer, the body their
   * bytes one after another and JOB_INPUTS_HEADER their lengths (the three reads a phase starts
   * with, in one request instead of three).
   */
  inputs: "/inputs",
  spec: "/spec",
  configuration: "/configuration",
  state: "/state",
  planFile: "/plan-file",
  planJson: "/plan-json",
  providerSchemas: "/provider-schemas",
  logs: (phase: Phase) => `/logs/${phase}`,
  /** POST: appends to the live log (`?reset=1` starts it afresh), for runners without Redis. */
  liveLog: (phase: Phase) => `/logs/${phase}/live`,
} as const;

/**
 * The lengths of an inputs answer's parts, in body order: `spec=<n>, configuration=<n>, state=<n>`,
 * `state=none` when the workspace has no state yet.
 */
export const JOB_INPUTS_HEADER = "tarmac-job-inputs";

export interface JobInputLengths {
  spec: number;
  configuration: number;
  /** null: the workspace has no state. */
  state: number | null;
}

export function formatJobInputLengths(l: JobInputLengths): string {
  return `spec=${l.spec}, configuration=${l.configuration}, state=${l.state === null ? "none" : l.state}`;
}

/** The lengths an inputs answer announces, or null when the header is missing or malformed. */
export function parseJobInputLengths(header: string | undefined): JobInputLengths | null {
  const m = /^spec=(\d+), configuration=(\d+), state=(\d+|none)$/.exec(header?.trim() ?? "");
  if (!m) return null;
  return { spec: Number(m[1]), configuration: Number(m[2]), state: m[3] === "none" ? null : Number(m[3]) };
}

/**
 * JetStream layout. One stream holds every Tarmac event; subjects carry the
 * resource id so an outside subscriber can filter (`nats sub 'tarmac.runs.>'`).
 */
export const STREAM_NAME = "TARMAC";
export const STREAM_SUBJECTS = ["tarmac.>"] as const;

export const subjects = {
  runCreated: (runId: string) => `tarmac.runs.${runId}.created`,
  runStatusChanged: (runId: string) => `tarmac.runs.${runId}.status`,
  runActionRequested: (runId: string) => `tarmac.runs.${runId}.action`,
  /** Published by workers (no database): phase started, heartbeats, finished. */
  phaseProgress: (runId: string, phase: Phase) => `tarmac.runs.${runId}.${phase}.progress`,
  /** Scheduler → the worker holding the job: interrupt or kill terraform. Core NATS, not stored. */
  phaseSignal: (runId: string, phase: Phase) => `tarmac.signals.${runId}.${phase}`,
  workspaceLockChanged: (workspaceId: string) => `tarmac.workspaces.${workspaceId}.lock`,
  workspaceQueueChanged: (workspaceId: string) => `tarmac.workspaces.${workspaceId}.queue`,
  configurationUploaded: (cvId: string) => `tarmac.configuration-versions.${cvId}.uploaded`,
} as const;

/** Filters for durable consumers. */
export const subjectFilters = {
  runCreated: "tarmac.runs.*.created",
  runStatusChanged: "tarmac.runs.*.status",
  runActionRequested: "tarmac.runs.*.action",
  phaseProgress: "tarmac.runs.*.*.progress",
  workspaceLockChanged: "tarmac.workspaces.*.lock",
  workspaceQueueChanged: "tarmac.workspaces.*.queue",
  configurationUploaded: "tarmac.configuration-versions.*.uploaded",
} as const;

export const PHASES = ["plan", "apply"] as const;
export type Phase = (typeof PHASES)[number];

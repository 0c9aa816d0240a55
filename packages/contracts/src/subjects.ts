import { PHASES, type Phase } from "@tarmac/domain";

/**
 * JetStream layout. One stream holds every Tarmac event; subjects carry the
 * resource id so an outside subscriber can filter (`nats sub 'tarmac.runs.>'`).
 */
export const DEFAULT_SUBJECT_PREFIX = "tarmac";

/**
 * Every subject starts with a deployment prefix (TARMAC_NATS_PREFIX, default
 * "tarmac"): one NATS server can carry several deployments, and each test
 * file uses its own prefix and stream.
 */
export function subjectsFor(prefix: string = DEFAULT_SUBJECT_PREFIX) {
  return {
    prefix,
    /** The JetStream stream holding every event of this deployment. */
    streamName: prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, "_"),
    streamSubjects: [`${prefix}.>`],
    runCreated: (runId: string) => `${prefix}.runs.${runId}.created`,
    runStatusChanged: (runId: string) => `${prefix}.runs.${runId}.status`,
    runActionRequested: (runId: string) => `${prefix}.runs.${runId}.action`,
    /** Published by workers (no database): phase started, heartbeats, finished. */
    phaseProgress: (runId: string, phase: Phase) => `${prefix}.runs.${runId}.${phase}.progress`,
    /** Scheduler → the worker holding the job: interrupt or kill terraform. Core NATS, not stored. */
    phaseSignal: (runId: string, phase: Phase) => `${prefix}.signals.${runId}.${phase}`,
    workspaceLockChanged: (workspaceId: string) => `${prefix}.workspaces.${workspaceId}.lock`,
    workspaceQueueChanged: (workspaceId: string) => `${prefix}.workspaces.${workspaceId}.queue`,
    configurationUploaded: (cvId: string) => `${prefix}.configuration-versions.${cvId}.uploaded`,
    taskStageChanged: (runId: string) => `${prefix}.runs.${runId}.task-stage`,
    /** Filters for durable consumers. */
    filters: {
      runCreated: `${prefix}.runs.*.created`,
      runStatusChanged: `${prefix}.runs.*.status`,
      runActionRequested: `${prefix}.runs.*.action`,
      phaseProgress: `${prefix}.runs.*.*.progress`,
      phaseSignals: `${prefix}.signals.>`,
      workspaceLockChanged: `${prefix}.workspaces.*.lock`,
      workspaceQueueChanged: `${prefix}.workspaces.*.queue`,
      configurationUploaded: `${prefix}.configuration-versions.*.uploaded`,
      taskStageChanged: `${prefix}.runs.*.task-stage`,
    },
  } as const;
}
export type Subjects = ReturnType<typeof subjectsFor>;

/** The default deployment's subjects. */
export const subjects = subjectsFor();

/** The phases are a domain rule; contracts re-exports them for the queue and event names built on them. */
export { PHASES, type Phase };

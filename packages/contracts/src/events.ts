import { RUN_ACTIONS, type RunAction } from "@tarmac/domain";
import { z } from "zod";
import { PHASES } from "./subjects";

/**
 * Event payloads. They carry ids, not copies of rows. Fields added later must be
 * optional so events already in flight during a rolling deploy still parse.
 */
const isoTime = z.string().datetime({ offset: true });

export const runCreatedEvent = z.object({
  type: z.literal("run.created"),
  runId: z.string(),
  workspaceId: z.string(),
  organizationId: z.string(),
  speculative: z.boolean(),
  at: isoTime,
});

export const runStatusChangedEvent = z.object({
  type: z.literal("run.status_changed"),
  runId: z.string(),
  workspaceId: z.string(),
  organizationId: z.string().optional(),
  from: z.string(),
  to: z.string(),
  at: isoTime,
});

/** The actions are a domain rule (see its predicates); contracts re-exports them for the event. */
export { RUN_ACTIONS, type RunAction };

export const runActionRequestedEvent = z.object({
  type: z.literal("run.action_requested"),
  runId: z.string(),
  workspaceId: z.string(),
  action: z.enum(RUN_ACTIONS),
  actorId: z.string().nullable().optional(),
  /** The recorded request (run_action_requests); the scheduler carries out every pending one of the run. */
  actionRequestId: z.string().optional(),
  at: isoTime,
});

export const PHASE_PROGRESS_KINDS = ["started", "heartbeat", "finished", "errored", "canceled"] as const;

export const phaseProgressEvent = z.object({
  type: z.literal("phase.progress"),
  runId: z.string(),
  phase: z.enum(PHASES),
  kind: z.enum(PHASE_PROGRESS_KINDS),
  /** The BullMQ job attempt, so a retried job's events are distinct messages. */
  attempt: z.number().int().nonnegative(),
  /** Increases with each heartbeat within an attempt; part of the message id. */
  sequence: z.number().int().nonnegative(),
  workerId: z.string(),
  at: isoTime,
  /** finished only */
  hasChanges: z.boolean().optional(),
  resourceAdditions: z.number().int().optional(),
  resourceChanges: z.number().int().optional(),
  resourceDestructions: z.number().int().optional(),
  resourceImports: z.number().int().optional(),
  /** errored only */
  message: z.string().optional(),
});

export const workspaceLockChangedEvent = z.object({
  type: z.literal("workspace.lock_changed"),
  workspaceId: z.string(),
  locked: z.boolean(),
  lockedBy: z.object({ type: z.enum(["users", "teams", "runs"]), id: z.string() }).nullable(),
  at: isoTime,
});

export const workspaceQueueChangedEvent = z.object({
  type: z.literal("workspace.queue_changed"),
  workspaceId: z.string(),
  reason: z.string(),
  at: isoTime,
});

export const configurationUploadedEvent = z.object({
  type: z.literal("configuration_version.uploaded"),
  configurationVersionId: z.string(),
  workspaceId: z.string(),
  status: z.enum(["uploaded", "errored"]),
  at: isoTime,
});

/**
 * A run task stage may move on: an integration reported a result on its callback, or someone
 * overrode the stage. The scheduler re-evaluates the stage and moves the run.
 */
export const taskStageChangedEvent = z.object({
  type: z.literal("task_stage.changed"),
  runId: z.string(),
  workspaceId: z.string(),
  taskStageId: z.string(),
  reason: z.enum(["result", "override"]),
  taskResultId: z.string().optional(),
  at: isoTime,
});

export const tarmacEvent = z.discriminatedUnion("type", [
  runCreatedEvent,
  runStatusChangedEvent,
  runActionRequestedEvent,
  phaseProgressEvent,
  workspaceLockChangedEvent,
  workspaceQueueChangedEvent,
  configurationUploadedEvent,
  taskStageChangedEvent,
]);

export type RunCreatedEvent = z.infer<typeof runCreatedEvent>;
export type RunStatusChangedEvent = z.infer<typeof runStatusChangedEvent>;
export type RunActionRequestedEvent = z.infer<typeof runActionRequestedEvent>;
export type PhaseProgressEvent = z.infer<typeof phaseProgressEvent>;
export type WorkspaceLockChangedEvent = z.infer<typeof workspaceLockChangedEvent>;
export type WorkspaceQueueChangedEvent = z.infer<typeof workspaceQueueChangedEvent>;
export type ConfigurationUploadedEvent = z.infer<typeof configurationUploadedEvent>;
export type TaskStageChangedEvent = z.infer<typeof taskStageChangedEvent>;
export type TarmacEvent = z.infer<typeof tarmacEvent>;

/** Phase signals travel on core NATS to whichever worker holds the job. */
export const phaseSignal = z.object({
  runId: z.string(),
  phase: z.enum(PHASES),
  signal: z.enum(["SIGINT", "SIGKILL"]),
});
export type PhaseSignal = z.infer<typeof phaseSignal>;

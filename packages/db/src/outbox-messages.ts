import type {
  ConfigurationUploadedEvent,
  PhaseProgressEvent,
  RunActionRequestedEvent,
  RunCreatedEvent,
  RunStatusChangedEvent,
  Subjects,
  WorkspaceLockChangedEvent,
  WorkspaceQueueChangedEvent,
} from "@tarmac/contracts";
import type { OutboxMessage } from "./outbox";

/**
 * The outbox messages Tarmac writes: subject, payload and JetStream message id of each event,
 * built in one place so every writer of an event produces the same shape and the same id scheme.
 * `requestId` makes the id unique per request where one state can be reached again (a lock taken
 * twice); repeated writes within one request then de-duplicate.
 */

function withHeaders(message: OutboxMessage, headers: Record<string, string> | undefined): OutboxMessage {
  return headers ? { ...message, headers } : message;
}

export function runCreatedMessage(
  subjects: Subjects,
  run: { id: string; workspaceId: string; organizationId: string; planOnly: boolean },
  at: Date,
  headers?: Record<string, string>,
): OutboxMessage {
  const payload: RunCreatedEvent = {
    type: "run.created",
    runId: run.id,
    workspaceId: run.workspaceId,
    organizationId: run.organizationId,
    speculative: run.planOnly,
    at: at.toISOString(),
  };
  return withHeaders({ subject: subjects.runCreated(run.id), payload, msgId: `run-created:${run.id}` }, headers);
}

/**
 * A run's status changed (written only by transitionRun). The id names the transition, so a
 * transition written twice is one message.
 */
export function runStatusChangedMessage(
  subjects: Subjects,
  run: { id: string; workspaceId: string; organizationId: string },
  from: RunStatusChangedEvent["from"],
  to: RunStatusChangedEvent["to"],
  at: Date,
  headers?: Record<string, string>,
): OutboxMessage {
  const payload: RunStatusChangedEvent = {
    type: "run.status_changed",
    runId: run.id,
    workspaceId: run.workspaceId,
    organizationId: run.organizationId,
    from,
    to,
    at: at.toISOString(),
  };
  return withHeaders({ subject: subjects.runStatusChanged(run.id), payload, msgId: `run-status:${run.id}:${from}:${to}` }, headers);
}

/** A user's action on a run, recorded as a request (its id) for the scheduler to carry out. */
export function runActionRequestedMessage(
  subjects: Subjects,
  input: {
    id: string;
    runId: string;
    workspaceId: string;
    action: RunActionRequestedEvent["action"];
    actorId: string | null;
    at: Date;
    headers?: Record<string, string>;
  },
): OutboxMessage {
  const payload: RunActionRequestedEvent = {
    type: "run.action_requested",
    runId: input.runId,
    workspaceId: input.workspaceId,
    action: input.action,
    actorId: input.actorId,
    actionRequestId: input.id,
    at: input.at.toISOString(),
  };
  return withHeaders({ subject: subjects.runActionRequested(input.runId), payload, msgId: `run-action:${input.id}` }, input.headers);
}

/** A workspace's queue may move: a lock released, a run forced ahead. */
export function workspaceQueueChangedMessage(
  subjects: Subjects,
  input: { workspaceId: string; reason: string; at: Date; requestId: string },
): OutboxMessage {
  const payload: WorkspaceQueueChangedEvent = {
    type: "workspace.queue_changed",
    workspaceId: input.workspaceId,
    reason: input.reason,
    at: input.at.toISOString(),
  };
  return { subject: subjects.workspaceQueueChanged(input.workspaceId), payload, msgId: `workspace-queue:${input.workspaceId}:${input.requestId}` };
}

export function workspaceLockChangedMessage(
  subjects: Subjects,
  input: { workspaceId: string; locked: boolean; lockedBy: WorkspaceLockChangedEvent["lockedBy"]; at: Date; requestId: string },
): OutboxMessage {
  const payload: WorkspaceLockChangedEvent = {
    type: "workspace.lock_changed",
    workspaceId: input.workspaceId,
    locked: input.locked,
    lockedBy: input.lockedBy,
    at: input.at.toISOString(),
  };
  return { subject: subjects.workspaceLockChanged(input.workspaceId), payload, msgId: `workspace-lock:${input.workspaceId}:${input.requestId}` };
}

export function configurationUploadedMessage(
  subjects: Subjects,
  cv: { id: string; workspaceId: string },
  status: ConfigurationUploadedEvent["status"],
  at: Date,
  headers?: Record<string, string>,
): OutboxMessage {
  const payload: ConfigurationUploadedEvent = {
    type: "configuration_version.uploaded",
    configurationVersionId: cv.id,
    workspaceId: cv.workspaceId,
    status,
    at: at.toISOString(),
  };
  return withHeaders({ subject: subjects.configurationUploaded(cv.id), payload, msgId: `cv-uploaded:${cv.id}:${status}` }, headers);
}

/**
 * A phase's progress as an agent reported it over HTTPS: the same event, subject and message id
 * (`<runId>:<phase>:<attempt>:<kind>:<sequence>`) a worker publishes to JetStream itself, so the
 * scheduler's consumer cannot tell the two apart and a retried report is one message.
 */
export function phaseProgressMessage(subjects: Subjects, event: PhaseProgressEvent): OutboxMessage {
  return {
    subject: subjects.phaseProgress(event.runId, event.phase),
    payload: event,
    msgId: `${event.runId}:${event.phase}:${event.attempt}:${event.kind}:${event.sequence}`,
  };
}

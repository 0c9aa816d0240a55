import { consumeDurable, ensureStream, type DurableConsumer, type StreamOptions } from "@tarmac/events";
import type { SchedulerContext } from "./context";
import { handleEvent } from "./handlers";

export interface ConsumerOptions {
  /** Handlers running at once per consumer in this process. */
  concurrency?: number;
  /** Durable name prefix; replicas of one deployment share it and so share the work. */
  durablePrefix?: string;
  ackWaitMs?: number;
  /** The deployment's stream settings (replicas), for re-creating a stream NATS lost. */
  stream?: StreamOptions;
}

/**
 * One durable consumer per kind of event, so a backlog of heartbeats never delays a run's
 * creation. Replicas share the durables: JetStream hands each message to one of them.
 */
export async function startConsumers(ctx: SchedulerContext, options: ConsumerOptions = {}): Promise<DurableConsumer[]> {
  const f = ctx.subjects.filters;
  const prefix = options.durablePrefix ?? "scheduler";
  const kinds: [string, string[]][] = [
    ["run-created", [f.runCreated]],
    ["run-status", [f.runStatusChanged]],
    ["run-action", [f.runActionRequested]],
    ["phase-progress", [f.phaseProgress]],
    ["workspace", [f.workspaceLockChanged, f.workspaceQueueChanged]],
    ["configuration-uploaded", [f.configurationUploaded]],
    ["task-stage", [f.taskStageChanged]],
  ];
  const consumers: DurableConsumer[] = [];
  try {
    for (const [name, filterSubjects] of kinds) {
      consumers.push(
        await consumeDurable({
          nc: ctx.nc,
          subjects: ctx.subjects,
          durableName: `${prefix}-${name}`,
          filterSubjects,
          logger: ctx.logger,
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
          handler: (event) => handleEvent(ctx, event),
          // NATS may come back with an empty store: the stream is re-created with this
          // deployment's configuration, then the durables, and reconcile repairs what was lost.
          ensureStream: () => ensureStream(ctx.nc, ctx.subjects, options.stream),
        }),
      );
    }
  } catch (error) {
    await Promise.all(consumers.map((c) => c.stop()));
    throw error;
  }
  return consumers;
}

import { Queue } from "bullmq";
import { QUEUES, type Phase, type PhaseJob } from "@tarmac/contracts";
import { bullConnection, queueKeyPrefix, type RedisConnection } from "./connection";
import { DEFAULT_PHASE_JOB_OPTIONS } from "./defaults";

export type PhaseQueue = Queue<PhaseJob, void, string>;

export interface PhaseQueues {
  plan: PhaseQueue;
  apply: PhaseQueue;
  close(): Promise<void>;
}

export interface PhaseQueuesOptions {
  connection: RedisConnection;
  /** Redis key prefix (TARMAC_QUEUE_PREFIX), hash-tagged by queueKeyPrefix; tests use a unique one per file. */
  prefix: string;
}

/** Producers for the plan and apply queues, with the shared default job options. */
export function createPhaseQueues(opts: PhaseQueuesOptions): PhaseQueues {
  const connections = [bullConnection(opts.connection), bullConnection(opts.connection)];
  const make = (name: string, i: number): PhaseQueue =>
    new Queue<PhaseJob, void, string>(name, {
      connection: connections[i]!.connection,
      prefix: queueKeyPrefix(opts.prefix),
      defaultJobOptions: DEFAULT_PHASE_JOB_OPTIONS,
    });
  const plan = make(QUEUES.plan, 0);
  const apply = make(QUEUES.apply, 1);
  return {
    plan,
    apply,
    async close() {
      await Promise.all([plan.close(), apply.close()]);
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}

export function queueFor(queues: Pick<PhaseQueues, "plan" | "apply">, phase: Phase): PhaseQueue {
  return phase === "plan" ? queues.plan : queues.apply;
}

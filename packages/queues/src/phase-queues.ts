import { Queue } from "bullmq";
import { QUEUES, type Phase, type PhaseJob } from "@tarmac/contracts";
import { toConnectionOptions, type RedisConnection } from "./connection";
import { DEFAULT_PHASE_JOB_OPTIONS } from "./defaults";

export type PhaseQueue = Queue<PhaseJob, void, string>;

export interface PhaseQueues {
  plan: PhaseQueue;
  apply: PhaseQueue;
  close(): Promise<void>;
}

export interface PhaseQueuesOptions {
  connection: RedisConnection;
  /** Redis key prefix (TARMAC_QUEUE_PREFIX); tests use a unique one per file. */
  prefix: string;
}

/** Producers for the plan and apply queues, with the shared default job options. */
export function createPhaseQueues(opts: PhaseQueuesOptions): PhaseQueues {
  const make = (name: string): PhaseQueue =>
    new Queue<PhaseJob, void, string>(name, {
      connection: toConnectionOptions(opts.connection),
      prefix: opts.prefix,
      defaultJobOptions: DEFAULT_PHASE_JOB_OPTIONS,
    });
  const plan = make(QUEUES.plan);
  const apply = make(QUEUES.apply);
  return {
    plan,
    apply,
    async close() {
      await Promise.all([plan.close(), apply.close()]);
    },
  };
}

export function queueFor(queues: Pick<PhaseQueues, "plan" | "apply">, phase: Phase): PhaseQueue {
  return phase === "plan" ? queues.plan : queues.apply;
}

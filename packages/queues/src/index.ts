export {
  bullConnection,
  createRedisClient,
  queueKeyPrefix,
  type BullConnection,
  type RedisClient,
  type RedisConnection,
} from "./connection";
export { DEFAULT_PHASE_JOB_OPTIONS, PHASE_WORKER_DEFAULTS } from "./defaults";
export { createPhaseQueues, queueFor, type PhaseQueue, type PhaseQueues, type PhaseQueuesOptions } from "./phase-queues";
export { addPhaseJobIfAbsent, enqueuePhaseJob, getPhaseJobState, removePhaseJob, type EnqueueResult, type PhaseJobState } from "./enqueue";
export { getPhaseJobLiveness, type PhaseJobLiveness } from "./liveness";
export { isPhaseStopRequested, requestPhaseStop, stopRequestKey } from "./stop-requests";
export { createPhaseWorker, type PhaseJobProcessor, type PhaseWorker, type PhaseWorkerOptions } from "./phase-worker";

import { z } from "zod";
import type { Phase } from "./subjects";

/** BullMQ queue names: one per phase, competing workers. */
export const QUEUES = { plan: "plan", apply: "apply" } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Deterministic job ids make re-enqueueing idempotent (DESIGN invariant 3). */
export const jobIdFor = (phase: Phase, runId: string): string => `${phase}-${runId}`;

/** Payloads carry ids only; the worker fetches everything else through capability URLs. */
export const phaseJob = z.object({
  runId: z.string(),
  phase: z.enum(["plan", "apply"]),
  /** Base URL of the gateway's capability endpoints for this job, secret included in the path. */
  jobUrl: z.string().url(),
  /** Optional, for tracing (W3C traceparent). */
  traceparent: z.string().optional(),
});
export type PhaseJob = z.infer<typeof phaseJob>;

import { z } from "zod";
import { PHASES } from "./subjects";

/**
 * The agent protocol's paths and answers (the gateway's `routes/agent-protocol.ts`): what an
 * agent in another network sends and reads over HTTPS, with `Authorization: Bearer <agent token>`.
 */
export const agentProtocolPaths = {
  register: "/api/agent/register",
  status: (agentId: string) => `/api/agent/agents/${agentId}/status`,
  nextJob: (agentId: string, waitMs: number) => `/api/agent/agents/${agentId}/jobs/next?wait=${waitMs}`,
  events: (agentId: string, jobId: string) => `/api/agent/agents/${agentId}/jobs/${jobId}/events`,
} as const;

export const agentRegistration = z.object({
  "agent-id": z.string(),
  "agent-pool-id": z.string(),
  "agent-pool-name": z.string(),
  capacity: z.number().int(),
  "max-poll-wait-ms": z.number().int(),
});
export type AgentRegistration = z.infer<typeof agentRegistration>;

/** A job handed to an agent: its job URL's path (with the secret) under the address the agent reaches Tarmac at. */
export const agentJob = z.object({
  "job-id": z.string(),
  "run-id": z.string(),
  phase: z.enum(PHASES),
  "job-path": z.string().startsWith("/"),
  attempt: z.number().int().nonnegative(),
});
export type AgentJob = z.infer<typeof agentJob>;

/** The answer to a ping: the jobs the agent holds and the stop order on each. */
export const agentStatusAnswer = z.object({
  jobs: z.array(
    z.object({
      "job-id": z.string(),
      "run-id": z.string(),
      phase: z.enum(PHASES),
      signal: z.enum(["SIGINT", "SIGKILL"]).nullable(),
    }),
  ),
});
export type AgentStatusAnswer = z.infer<typeof agentStatusAnswer>;

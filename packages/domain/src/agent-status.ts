/** What an agent reports about itself (the `agents.status` column). */
export const AGENT_STATUSES = ["idle", "busy", "unknown", "errored", "exited"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * How long an agent may stay silent before the API shows it as `unknown`. HCP Terraform marks an
 * agent unknown once it misses its heartbeats; its agents ping every few seconds, so two silent
 * minutes means several missed heartbeats, not one slow request.
 */
export const AGENT_UNKNOWN_AFTER_MS = 2 * 60_000;

/** The statuses a pool's `agent-count` counts (HCP: idle, busy and unknown; not errored or exited). */
export const COUNTED_AGENT_STATUSES: readonly AgentStatus[] = ["idle", "busy", "unknown"];

export function isAgentStatus(value: string): value is AgentStatus {
  return (AGENT_STATUSES as readonly string[]).includes(value);
}

/**
 * The status the API shows: the stored one, except that a live agent (idle or busy) whose last
 * ping is older than AGENT_UNKNOWN_AFTER_MS is `unknown`. Errored and exited are final and stay.
 */
export function effectiveAgentStatus(agent: { status: string; lastPingAt: Date }, now: Date): AgentStatus {
  const status: AgentStatus = isAgentStatus(agent.status) ? agent.status : "unknown";
  if (status === "errored" || status === "exited") return status;
  return now.getTime() - agent.lastPingAt.getTime() > AGENT_UNKNOWN_AFTER_MS ? "unknown" : status;
}

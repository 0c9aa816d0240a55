import { AGENT_UNKNOWN_AFTER_MS, effectiveAgentStatus } from "./agent-status";

describe("effectiveAgentStatus", () => {
  const now = new Date("2026-12-01T03:00:00Z");
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it("keeps the stored status of an agent that pinged recently", () => {
    expect(effectiveAgentStatus({ status: "busy", lastPingAt: ago(1_000) }, now)).toBe("busy");
    expect(effectiveAgentStatus({ status: "idle", lastPingAt: ago(AGENT_UNKNOWN_AFTER_MS) }, now)).toBe("idle");
  });

  it("shows a live agent silent past the threshold as unknown", () => {
    expect(effectiveAgentStatus({ status: "idle", lastPingAt: ago(AGENT_UNKNOWN_AFTER_MS + 1) }, now)).toBe("unknown");
    expect(effectiveAgentStatus({ status: "busy", lastPingAt: ago(10 * AGENT_UNKNOWN_AFTER_MS) }, now)).toBe("unknown");
  });

  it("leaves final statuses alone and maps a value it does not know to unknown", () => {
    expect(effectiveAgentStatus({ status: "exited", lastPingAt: ago(10 * AGENT_UNKNOWN_AFTER_MS) }, now)).toBe("exited");
    expect(effectiveAgentStatus({ status: "errored", lastPingAt: ago(1) }, now)).toBe("errored");
    expect(effectiveAgentStatus({ status: "weird", lastPingAt: ago(1) }, now)).toBe("unknown");
  });
});

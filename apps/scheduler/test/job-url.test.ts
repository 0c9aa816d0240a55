import { randomBytes } from "node:crypto";
import { CAPABILITY_TTL_MS, checkCapability, jobCapabilityId } from "@tarmac/contracts";
import { jobUrlFor, type SchedulerContext, type SchedulerSettings } from "../src/engine";

const NOW = new Date("2026-11-30T20:00:00Z");
const settings: SchedulerSettings = {
  gatewayUrl: "http://gw.internal:8080",
  capabilityKeys: { current: randomBytes(32).toString("base64url"), previous: [] },
  heartbeatTimeoutMs: 30_000,
  planTimeoutMs: 2 * 3_600_000,
  applyTimeoutMs: 24 * 3_600_000,
  reconcileGraceMs: 0,
};
// jobUrlFor reads only the settings and the clock.
const ctx = { settings, now: () => NOW } as unknown as SchedulerContext;

function secretOf(url: string): { phase: string; secret: string } {
  const [, , , phase, secret] = new URL(url).pathname.split("/");
  return { phase: phase!, secret: secret! };
}

describe("job URLs", () => {
  it("grants one phase of one run, until the phase's timeout plus the queueing allowance", () => {
    for (const phase of ["plan", "apply"] as const) {
      const url = jobUrlFor(ctx, "run-abc", phase);
      expect(url.startsWith(`http://gw.internal:8080/_jobs/run-abc/${phase}/`)).toBe(true);
      const { secret } = secretOf(url);
      const other = phase === "plan" ? "apply" : "plan";
      const deadline = NOW.getTime() + (phase === "plan" ? settings.planTimeoutMs : settings.applyTimeoutMs) + CAPABILITY_TTL_MS.jobQueueAllowance;
      const keys = settings.capabilityKeys;
      expect(checkCapability(keys, "job", jobCapabilityId("run-abc", phase), secret, new Date(deadline - 1_000))).toBe("valid");
      expect(checkCapability(keys, "job", jobCapabilityId("run-abc", phase), secret, new Date(deadline))).toBe("expired");
      expect(checkCapability(keys, "job", jobCapabilityId("run-abc", other), secret, NOW)).toBe("invalid");
    }
  });
});

import { subjectsFor } from "@tarmac/contracts";
import type { Publisher, PublishOptions } from "@tarmac/events";
import { waitFor } from "@tarmac/testing";
import { ProgressReporter } from "@tarmac/runner";

/** A publisher standing in for a broker that is away: heartbeats hang until released. */
function stalledPublisher() {
  const calls: { kind: string; options: PublishOptions }[] = [];
  let release!: () => void;
  const back = new Promise<void>((resolve) => (release = resolve));
  const publisher: Publisher = {
    async publish(_subject, payload, options) {
      const kind = (payload as { kind: string }).kind;
      calls.push({ kind, options });
      if (kind === "heartbeat") await back;
      return { stream: "S", seq: calls.length, duplicate: false, domain: "" } as never;
    },
  };
  return { publisher, calls, release };
}

describe("progress reporter", () => {
  it("keeps at most one heartbeat in flight while the broker is away, and retries final events for long", async () => {
    const { publisher, calls, release } = stalledPublisher();
    const finals: string[] = [];
    const reporter = new ProgressReporter({
      publisher,
      subjects: subjectsFor("tprog"),
      runId: "run-1",
      phase: "plan",
      attempt: 1,
      workerId: "w",
      heartbeatIntervalMs: 20,
      onHeartbeatError: () => undefined,
      finalEventRetryMs: 600_000,
      onFinalEvent: (event) => finals.push(event.kind),
    });
    await reporter.start();
    await waitFor(() => (calls.some((c) => c.kind === "heartbeat") ? true : undefined));
    // Many intervals pass with the first heartbeat still unacknowledged.
    await new Promise((r) => setTimeout(r, 300));
    expect(calls.filter((c) => c.kind === "heartbeat")).toHaveLength(1);

    release();
    await reporter.finished({ hasChanges: false });
    const started = calls.find((c) => c.kind === "started")!;
    const finished = calls.find((c) => c.kind === "finished")!;
    expect(started.options.retryForMs).toBe(600_000);
    expect(finished.options.retryForMs).toBe(600_000);
    expect(finished.options.msgId).toMatch(/^run-1:plan:1:finished:\d+$/);
    expect(finals).toEqual(["finished"]);
  });
});

import { recordingLogger } from "./__fixtures__/recording-logger";
import { SHUTDOWN_PHASES, createShutdown, phaseDeadlines } from "./index";

function exitRecorder() {
  const codes: number[] = [];
  return { codes, exit: (code: number) => void codes.push(code) };
}

const never = () => new Promise<void>(() => undefined);
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("phaseDeadlines", () => {
  it("gives cumulative deadlines from the default shares, ending at the overall deadline", () => {
    expect(phaseDeadlines(10_000)).toEqual({ intake: 2_000, drain: 7_000, clients: 8_500, telemetry: 10_000 });
  });

  it("uses explicit phase budgets and never exceeds the overall deadline", () => {
    expect(phaseDeadlines(10_000, { intake: 500, drain: 20_000 })).toEqual({
      intake: 500,
      drain: 10_000,
      clients: 10_000,
      telemetry: 10_000,
    });
  });
});

describe("createShutdown", () => {
  it("runs phases in order whatever the registration order, then exits 0", async () => {
    const { logger } = recordingLogger();
    const { codes, exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 5_000, exit });
    const ran: string[] = [];
    for (const phase of [...SHUTDOWN_PHASES].reverse()) {
      shutdown.onShutdown(`${phase}-step`, async () => {
        await delay(5);
        ran.push(phase);
      }, phase);
    }

    const result = await shutdown.shutdown("test");

    expect(ran).toEqual(["intake", "drain", "clients", "telemetry"]);
    expect(result.exitCode).toBe(0);
    expect(result.steps.map((s) => s.outcome)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(codes).toEqual([0]);
  });

  it("runs the steps of one phase concurrently", async () => {
    const { logger } = recordingLogger();
    const { exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 5_000, exit });
    const events: string[] = [];
    for (const name of ["redis", "nats", "prisma"]) {
      shutdown.onShutdown(name, async () => {
        events.push(`start ${name}`);
        await delay(20);
        events.push(`end ${name}`);
      }, "clients");
    }
    await shutdown.shutdown();
    expect(events.slice(0, 3)).toEqual(["start redis", "start nats", "start prisma"]);
  });

  it("abandons a hanging step at its phase deadline, still runs later phases, and exits 1", async () => {
    const { logger, entries } = recordingLogger();
    const { codes, exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 2_000, exit });
    const startedAt = Date.now();
    let clientsStartedAfterMs = -1;
    shutdown.onShutdown("bullmq worker", never, "drain");
    shutdown.onShutdown("redis", () => {
      clientsStartedAfterMs = Date.now() - startedAt;
    }, "clients");

    const result = await shutdown.shutdown();

    // The drain deadline is at 70% of the overall budget, well before the overall deadline.
    expect(clientsStartedAfterMs).toBeGreaterThanOrEqual(1_350);
    expect(clientsStartedAfterMs).toBeLessThan(2_000);
    expect(result.steps).toEqual([
      expect.objectContaining({ name: "bullmq worker", phase: "drain", outcome: "timed_out" }),
      expect.objectContaining({ name: "redis", phase: "clients", outcome: "ok" }),
    ]);
    expect(codes).toEqual([1]);
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "error", step: "bullmq worker", msg: "shutdown step timed out; abandoned" }),
    );
  });

  it("lets a phase use the time earlier phases left unused", async () => {
    const { logger } = recordingLogger();
    const { codes, exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 2_000, exit });
    shutdown.onShutdown("http server", () => undefined, "intake");
    // Longer than drain's own 50% share (1000 ms), within its cumulative 70% deadline (1400 ms).
    shutdown.onShutdown("in-flight jobs", () => delay(1_200), "drain");
    const result = await shutdown.shutdown();
    expect(result.steps.map((s) => s.outcome)).toEqual(["ok", "ok"]);
    expect(codes).toEqual([0]);
  });

  it("reports a failing step, runs the others, and exits 1", async () => {
    const { logger, entries } = recordingLogger();
    const { codes, exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 5_000, exit });
    const closed: string[] = [];
    shutdown.onShutdown("nats", async () => {
      throw new Error("drain failed: connection closed");
    }, "clients");
    shutdown.onShutdown("redis", () => void closed.push("redis"), "clients");
    shutdown.onShutdown("telemetry", () => void closed.push("telemetry"), "telemetry");

    const result = await shutdown.shutdown();

    expect(closed).toEqual(["redis", "telemetry"]);
    expect(result.steps[0]).toMatchObject({ name: "nats", outcome: "failed", error: "drain failed: connection closed" });
    expect(codes).toEqual([1]);
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "error", step: "nats", error: "drain failed: connection closed" }),
    );
  });

  it("honours an explicit phase budget", async () => {
    const { logger } = recordingLogger();
    const { exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 10_000, phaseTimeoutsMs: { intake: 50 }, exit });
    shutdown.onShutdown("stuck listener", never, "intake");
    const startedAt = Date.now();
    const result = await shutdown.shutdown();
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(result.steps[0]?.outcome).toBe("timed_out");
  });

  it("runs once however often it is asked, and refuses late registrations", async () => {
    const { logger, entries } = recordingLogger();
    const { codes, exit } = exitRecorder();
    const shutdown = createShutdown({ logger, timeoutMs: 5_000, exit });
    let runs = 0;
    shutdown.onShutdown("count", () => void runs++, "drain");
    expect(shutdown.isShuttingDown).toBe(false);

    const first = shutdown.shutdown("first");
    expect(shutdown.isShuttingDown).toBe(true);
    shutdown.onShutdown("late", () => void runs++, "clients");
    const second = shutdown.shutdown("second");

    expect(second).toBe(first);
    await first;
    expect(runs).toBe(1);
    expect(codes).toEqual([0]);
    expect(entries).toContainEqual(expect.objectContaining({ level: "warn", step: "late" }));
  });

  it("exits 0 with nothing registered", async () => {
    const { logger } = recordingLogger();
    const { codes, exit } = exitRecorder();
    await createShutdown({ logger, timeoutMs: 1_000, exit }).shutdown();
    expect(codes).toEqual([0]);
  });
});

import { loadSchedulerEnv } from "./env";

describe("scheduler health port", () => {
  it("defaults to 8081", () => {
    const env = loadSchedulerEnv({});
    expect(env.SCHEDULER_HEALTH_PORT ?? env.HEALTH_PORT).toBe(8081);
  });

  it("takes SCHEDULER_HEALTH_PORT over HEALTH_PORT, and 0 for any free port", () => {
    const env = loadSchedulerEnv({ HEALTH_PORT: "9001", SCHEDULER_HEALTH_PORT: "0" });
    expect(env.SCHEDULER_HEALTH_PORT ?? env.HEALTH_PORT).toBe(0);
    expect(loadSchedulerEnv({ HEALTH_PORT: "9001" }).SCHEDULER_HEALTH_PORT).toBeUndefined();
  });

  it("refuses a bad port, naming the variable", () => {
    expect(() => loadSchedulerEnv({ SCHEDULER_HEALTH_PORT: "70000" })).toThrow(/SCHEDULER_HEALTH_PORT/);
  });
});

import { agentEnvSchema, loadAgentEnv } from "./env";

describe("the agent's environment", () => {
  it("needs only Tarmac's address and an agent token, and has no place for database, Redis or NATS settings", () => {
    const env = loadAgentEnv({ TARMAC_ADDRESS: "https://tarmac.example.com", TARMAC_AGENT_TOKEN: "agent-secret", TARMAC_AGENT_NAME: "dc1-01" });
    expect(env).toMatchObject({ TARMAC_ADDRESS: "https://tarmac.example.com", TARMAC_AGENT_NAME: "dc1-01", TARMAC_AGENT_CAPACITY: 1, TARMAC_AGENT_POLL_WAIT_MS: 30_000 });
    for (const key of ["DATABASE_URL", "REDIS_URL", "NATS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"]) expect(Object.keys(agentEnvSchema.shape)).not.toContain(key);
  });

  it("says what is missing or wrong", () => {
    expect(() => loadAgentEnv({})).toThrow(/TARMAC_AGENT_TOKEN.*TARMAC_ADDRESS|TARMAC_ADDRESS.*TARMAC_AGENT_TOKEN/);
    expect(() => loadAgentEnv({ TARMAC_ADDRESS: "ftp://tarmac", TARMAC_AGENT_TOKEN: "t" })).toThrow(/TARMAC_ADDRESS/);
    expect(() => loadAgentEnv({ TARMAC_ADDRESS: "https://tarmac", TARMAC_AGENT_TOKEN: "t", TARMAC_AGENT_CAPACITY: "0" })).toThrow(/TARMAC_AGENT_CAPACITY/);
  });
});

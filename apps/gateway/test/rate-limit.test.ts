import { createOrganization, createUser, createWorkspace, startApiTestEnv, unique, type ApiTestEnv, type TestUser } from "./api-fixtures";

describe("per-token rate limit", () => {
  let env: ApiTestEnv;
  let burster: TestUser;
  let bystander: TestUser;
  beforeAll(async () => {
    env = await startApiTestEnv({ TARMAC_RATE_LIMIT_PER_SECOND: "5" });
    // Users whose tokens have not been used yet: each burst starts on a fresh budget.
    burster = await createUser(env);
    bystander = await createUser(env);
  }, 60_000);
  afterAll(async () => {
    await env?.close();
  });

  it("sends the limit headers and answers 429 with HCP's error once a token exceeds its budget", async () => {
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 30 }, () => burster.client.get("/account/details")));
    const elapsedMs = Date.now() - started;
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok.length + limited.length).toBe(30);
    // At most 5 per one-second window, however many windows the burst spanned on a busy machine.
    expect(ok.length).toBeGreaterThanOrEqual(5);
    expect(ok.length).toBeLessThanOrEqual(5 * (Math.ceil(elapsedMs / 1000) + 1));
    expect(limited.length).toBeGreaterThan(0);
    for (const r of ok) {
      expect(r.headers.get("x-ratelimit-limit")).toBe("5");
      expect(Number(r.headers.get("x-ratelimit-remaining"))).toBeGreaterThanOrEqual(0);
      expect(r.headers.get("x-ratelimit-reset")).toMatch(/^\d+\.\d{3}$/);
    }
    const r429 = limited[0]!;
    expect(r429.body).toEqual({ errors: [{ status: "429", title: "Too many requests", detail: "You have exceeded the API's rate limit." }] });
    expect(r429.headers.get("x-ratelimit-remaining")).toBe("0");
    const reset = Number(r429.headers.get("x-ratelimit-reset"));
    // Seconds until the window resets, never an epoch (go-tfe would wait that long).
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(1);
  });

  it("counts per token: another token is not limited by the first one's traffic", async () => {
    await Promise.all(Array.from({ length: 8 }, () => env.admin.get("/account/details")));
    const other = await bystander.client.get("/account/details");
    expect(other.status).toBe(200);
  });

  it("lets a limited token through again after the reset", async () => {
    const burst = await Promise.all(Array.from({ length: 30 }, () => env.admin.get("/account/details")));
    const resets = burst.filter((r) => r.status === 429).map((r) => Number(r.headers.get("x-ratelimit-reset")));
    expect(resets.length).toBeGreaterThan(0);
    // Waiting as long as the header says is what go-tfe does; that must be enough.
    await new Promise((r) => setTimeout(r, Math.ceil(Math.max(...resets) * 1000) + 50));
    expect((await env.admin.get("/account/details")).status).toBe(200);
  });
});

describe("run-list rate limit", () => {
  let env: ApiTestEnv;
  beforeAll(async () => {
    env = await startApiTestEnv({ TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "3" });
  }, 60_000);
  afterAll(async () => {
    await env?.close();
  });

  it("limits GET /workspaces/:id/runs and /organizations/:name/runs per minute, and nothing else", async () => {
    const user = await createUser(env, unique("lister"));
    const org = await createOrganization(user.client);
    const ws = await createWorkspace(user.client, org);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await user.client.get(`/workspaces/${ws}/runs`);
      statuses.push(r.status);
      if (r.status !== 429) expect(r.headers.get("x-ratelimit-limit")).toBe("3");
    }
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
    const limited = await user.client.get(`/organizations/${org}/runs`);
    expect(limited.status).toBe(429);
    const reset = Number(limited.headers.get("x-ratelimit-reset"));
    expect(reset).toBeGreaterThan(1);
    expect(reset).toBeLessThanOrEqual(60);
    // Other endpoints stay available to the same token.
    expect((await user.client.get(`/workspaces/${ws}`)).status).toBe(200);
    // The limit is per token: another user's list is not affected.
    const other = await createUser(env);
    expect((await other.client.get(`/organizations/${org}/runs`)).status).not.toBe(429);
  });
});

describe("disabled limits", () => {
  let env: ApiTestEnv;
  beforeAll(async () => {
    env = await startApiTestEnv();
  }, 60_000);
  afterAll(async () => {
    await env?.close();
  });

  it("sends no limit headers and never 429s when the limits are 0", async () => {
    const responses = await Promise.all(Array.from({ length: 40 }, () => env.admin.get("/account/details")));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(responses[0]!.headers.get("x-ratelimit-limit")).toBeNull();
  });
});

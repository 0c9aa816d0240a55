import { startGatewayTestEnv, type GatewayTestEnv } from "@tarmac/testing";

/**
 * Structured run output: the terraform CLI renders a run's plan itself (from the redacted plan)
 * when the workspace asks for it and the server says it can (internal/cloud/backend_plan.go).
 */
let env: GatewayTestEnv;

beforeAll(async () => {
  env = await startGatewayTestEnv();
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe("structured run output", () => {
  it("announces a TFE release that supports it on the ping go-tfe reads at start", async () => {
    const res = await fetch(`${env.gateway.url}/api/v2/ping`);
    expect(res.status).toBe(204);
    // The CLI parses "vYYYYMM-N" and needs at least 202302.
    const version = res.headers.get("x-tfe-version") ?? "";
    expect(version).toMatch(/^v\d{6}-\d+$/);
    expect(Number(version.slice(1, 7))).toBeGreaterThanOrEqual(202302);
    // Not HCP Terraform: the CLI would then name the server "HCP Terraform" in its messages.
    expect(res.headers.get("tfp-appname")).toBeNull();
  });

  it("is a workspace setting clients create and update", async () => {
    const org = `org-${Date.now()}`;
    expect((await env.admin.post("/organizations", { data: { type: "organizations", attributes: { name: org, email: `${org}@example.com` } } })).status).toBe(201);
    const created = await env.admin.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name: "sro", "structured-run-output-enabled": true } },
    });
    expect(created.status).toBe(201);
    expect(created.body.data.attributes["structured-run-output-enabled"]).toBe(true);
    const updated = await env.admin.patch(`/organizations/${org}/workspaces/sro`, {
      data: { type: "workspaces", attributes: { "structured-run-output-enabled": false } },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.data.attributes["structured-run-output-enabled"]).toBe(false);
    const read = await env.admin.get(`/workspaces/${created.body.data.id as string}`);
    expect(read.body.data.attributes["structured-run-output-enabled"]).toBe(false);
  });
});

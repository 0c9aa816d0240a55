import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpsRequest } from "@tarmac/testing";
import { startCliStack, type CliStack } from "./stack";
import { SIMPLE_CONFIG, TerraformUser, cloudBlock, createOrganization, hex, runById, runIdsIn, workspaceByName } from "./terraform";

/**
 * The terraform CLI waits on run task stages and prints their results: a real `terraform plan`
 * against Tarmac, with an integration server of this test answering each task over the
 * callback URL (HTTPS, trusting the stack's CA) as a real integration would.
 */
jest.setTimeout(300_000);

let stack: CliStack;
let org: string;
let server: Server;
let integrationUrl = "";

beforeAll(async () => {
  stack = await startCliStack();
  org = await createOrganization(stack);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200).end();
      const payload = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const status = req.url === "/pass" ? "passed" : "failed";
      void httpsRequest(payload.task_result_callback_url, {
        ca: stack.certs.ca,
        method: "PATCH",
        headers: { Authorization: `Bearer ${payload.access_token}`, "Content-Type": "application/vnd.api+json" },
        body: JSON.stringify({ data: { type: "task-results", attributes: { status, message: `Checked by ${req.url}` } } }),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  integrationUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stack?.stop();
});

async function attach(workspaceId: string, path: string, stage: "pre_plan" | "post_plan", level: "mandatory" | "advisory"): Promise<void> {
  const task = await stack.api.post(`/organizations/${org}/tasks`, { data: { type: "tasks", attributes: { name: `${stage}-${hex(3)}`, url: `${integrationUrl}${path}` } } });
  expect(task.status).toBe(201);
  const attached = await stack.api.post(`/workspaces/${workspaceId}/tasks`, {
    data: { type: "workspace-tasks", attributes: { stages: [stage], "enforcement-level": level }, relationships: { task: { data: { type: "tasks", id: task.body.data.id } } } },
  });
  expect(attached.status).toBe(201);
}

async function initialized(name: string): Promise<{ user: TerraformUser; workspaceId: string }> {
  const user = await new TerraformUser(stack, name).init({ "main.tf": cloudBlock(stack.hostname, { organization: org, workspace: name }) + SIMPLE_CONFIG });
  await user.expect(["init", "-input=false"]);
  const ws = await workspaceByName(stack, org, name);
  return { user, workspaceId: ws!.id };
}

describe("terraform plan with run tasks", () => {
  it("waits for pre-plan and post-plan tasks and shows that they passed", async () => {
    const { user, workspaceId } = await initialized(`tasks-pass-${hex(3)}`);
    await attach(workspaceId, "/pass", "pre_plan", "mandatory");
    await attach(workspaceId, "/fail", "post_plan", "advisory");
    const plan = await user.expect(["plan"]);
    expect(plan.stdout).toContain("Pre-plan Tasks");
    expect(plan.stdout).toContain("Post-plan Tasks");
    expect(plan.stdout).toContain("All tasks completed! 1 passed, 0 failed");
    // The advisory failure is reported, and the plan still succeeds.
    expect(plan.stdout).toContain("All tasks completed! 0 passed, 1 failed");
    expect(plan.stdout).toContain("Checked by /fail");
    // Speculative runs are not in the workspace's default run list: the CLI prints the run's URL.
    const run = await runById(stack, runIdsIn(plan.output)[0]!);
    expect(run.attributes.status).toBe("planned_and_finished");
    expect(run.relationships["task-stages"].data).toHaveLength(2);
  });

  it("fails the plan when a mandatory pre-plan task fails, and says so", async () => {
    const { user, workspaceId } = await initialized(`tasks-fail-${hex(3)}`);
    await attach(workspaceId, "/fail", "pre_plan", "mandatory");
    const plan = await user.expect(["plan"], 1);
    expect(plan.stdout).toContain("All tasks completed! 0 passed, 1 failed");
    expect(plan.output).toContain("Task Stage failed.");
    const run = await runById(stack, runIdsIn(plan.output)[0]!);
    expect(run.attributes.status).toBe("errored");
    expect(run.relationships.workspace.data.id).toBe(workspaceId);
  });
});

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
      // /slow-fail answers after the CLI has had time to reach the stage (see the pre-apply test).
      const delayMs = req.url === "/slow-fail" ? 3_000 : 0;
      void new Promise((r) => setTimeout(r, delayMs)).then(() => httpsRequest(payload.task_result_callback_url, {
        ca: stack.certs.ca,
        method: "PATCH",
        headers: { Authorization: `Bearer ${payload.access_token}`, "Content-Type": "application/vnd.api+json" },
        body: JSON.stringify({ data: { type: "task-results", attributes: { status, message: `Checked by ${req.url}` } } }),
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  integrationUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stack?.stop();
});

async function attach(workspaceId: string, path: string, stage: "pre_plan" | "post_plan" | "pre_apply" | "post_apply", level: "mandatory" | "advisory"): Promise<void> {
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

describe("terraform apply with run tasks", () => {
  it("waits for pre-apply tasks before the apply, and ends applied after the post-apply ones", async () => {
    const { user, workspaceId } = await initialized(`tasks-apply-${hex(3)}`);
    await attach(workspaceId, "/pass", "pre_apply", "mandatory");
    await attach(workspaceId, "/pass", "post_apply", "mandatory");
    const apply = await user.expect(["apply", "-auto-approve"]);
    expect(apply.stdout).toContain("Pre-apply Tasks");
    expect(apply.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    const run = await runById(stack, runIdsIn(apply.output)[0]!);
    expect(run.attributes.status).toBe("applied");
    expect(Object.keys(run.attributes["status-timestamps"])).toEqual(expect.arrayContaining(["pre-apply-completed-at", "post-apply-completed-at", "applied-at"]));
  });

  it("fails the apply when a mandatory pre-apply task fails, and applies nothing", async () => {
    const { user, workspaceId } = await initialized(`tasks-apply-fail-${hex(3)}`);
    // With -auto-approve the run applies by itself after the plan; the CLI reads the run once the
    // plan finished and stops without a word if it already errored, so the task answers a little later.
    await attach(workspaceId, "/slow-fail", "pre_apply", "mandatory");
    const apply = await user.expect(["apply", "-auto-approve"], 1);
    expect(apply.stdout).toContain("Pre-apply Tasks");
    expect(apply.stdout).toContain("All tasks completed! 0 passed, 1 failed");
    expect(apply.output).toContain("Task Stage failed.");
    expect(apply.stdout).not.toContain("Apply complete!");
    const run = await runById(stack, runIdsIn(apply.output)[0]!);
    expect(run.attributes.status).toBe("errored");
    expect(run.attributes["status-timestamps"]["applying-at"]).toBeUndefined();
  });
});

import { startCliStack, type CliStack } from "./stack";
import { createWorkspace as createApiWorkspace } from "@tarmac/testing";
import { SIMPLE_CONFIG, TerraformUser, cloudBlock, createOrganization, hex, workspaceByName, type CloudBlock } from "./terraform";

/**
 * Workspaces chosen by tags (a list of tag names, or a map of key/value tag bindings) with
 * `terraform workspace new/list/select/delete`, and workspaces placed in a project by the
 * cloud block's `project`.
 */
jest.setTimeout(300_000);

let stack: CliStack;

beforeAll(async () => {
  stack = await startCliStack();
}, 240_000);
afterAll(async () => {
  await stack?.stop();
});

async function userFor(cloud: CloudBlock): Promise<TerraformUser> {
  return new TerraformUser(stack, `tags-${hex(4)}`).init({ "main.tf": cloudBlock(stack.hostname, cloud) + SIMPLE_CONFIG });
}

function createWorkspace(org: string, attributes: { name: string } & Record<string, unknown>, relationships?: Record<string, unknown>): Promise<string> {
  const { name, ...rest } = attributes;
  return createApiWorkspace(stack.api, org, name, rest, relationships);
}

/** `terraform workspace list` as names, the selected one first in its own field. */
function parseList(stdout: string): { selected: string | undefined; names: string[] } {
  const rows = stdout.split("\n").filter((l) => l.trim() !== "");
  return {
    selected: rows.find((l) => l.startsWith("*"))?.slice(1).trim(),
    names: rows.map((l) => l.replace(/^\*/, "").trim()).sort(),
  };
}

describe("cloud block with tags = [\"app\"]", () => {
  it("creates, lists, selects and deletes tagged workspaces, ignoring untagged ones", async () => {
    const org = await createOrganization(stack);
    await createWorkspace(org, { name: "unrelated" });
    const user = await userFor({ organization: org, tags: ["app"] });

    // No workspace carries the tag yet: init asks for the first one's name.
    const init = await user.expect(["init"], 0, { input: "app-dev\n" });
    expect(init.stdout).toContain("No workspaces found.");
    expect(init.stdout).toContain("HCP Terraform has been successfully initialized!");
    const dev = await workspaceByName(stack, org, "app-dev");
    expect(dev?.attributes["tag-names"]).toEqual(["app"]);

    const created = await user.expect(["workspace", "new", "app-prod"]);
    expect(created.stdout).toContain('Created and switched to workspace "app-prod"!');
    expect((await workspaceByName(stack, org, "app-prod"))?.attributes["tag-names"]).toEqual(["app"]);

    expect(parseList((await user.expect(["workspace", "list"])).stdout)).toEqual({ selected: "app-prod", names: ["app-dev", "app-prod"] });
    expect((await user.expect(["workspace", "show"])).stdout.trim()).toBe("app-prod");

    const selected = await user.expect(["workspace", "select", "app-dev"]);
    expect(selected.stdout).toContain('Switched to workspace "app-dev".');
    const apply = await user.expect(["apply", "-auto-approve"]);
    expect(apply.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");

    // A workspace without the tag is not one of this configuration's workspaces.
    const outside = await user.run(["workspace", "select", "unrelated"]);
    expect(outside.code).toBe(1);

    const deleted = await user.expect(["workspace", "delete", "app-prod"]);
    expect(deleted.stdout).toContain('Deleted workspace "app-prod"!');
    expect(await workspaceByName(stack, org, "app-prod")).toBeNull();
    expect(parseList((await user.expect(["workspace", "list"])).stdout)).toEqual({ selected: "app-dev", names: ["app-dev"] });
  });
});

describe("cloud block with tags = { env = \"prod\" }", () => {
  it("creates workspaces with the tag binding and lists only workspaces bound to env=prod", async () => {
    const org = await createOrganization(stack);
    await createWorkspace(org, { name: "staging-web" }, { "tag-bindings": { data: [{ type: "tag-bindings", attributes: { key: "env", value: "staging" } }] } });
    const user = await userFor({ organization: org, tags: { env: "prod" } });

    const init = await user.expect(["init"], 0, { input: "prod-web\n" });
    expect(init.stdout).toContain("HCP Terraform has been successfully initialized!");
    const web = await workspaceByName(stack, org, "prod-web");
    expect(web).not.toBeNull();
    const bindings = await stack.api.get(`/workspaces/${web!.id}/tag-bindings`);
    expect(bindings.status).toBe(200);
    // HCP's tag-binding resource carries `created-at` besides key and value (tfe-openapi.json
    // components.schemas["tag-bindings"]; go-tfe v2 models/tag_bindings_escaped_attributes.go).
    expect(bindings.body.data).toHaveLength(1);
    expect(bindings.body.data[0].attributes).toEqual({ key: "env", value: "prod", "created-at": expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });

    await user.expect(["workspace", "new", "prod-db"]);
    expect(parseList((await user.expect(["workspace", "list"])).stdout)).toEqual({ selected: "prod-db", names: ["prod-db", "prod-web"] });
    const plan = await user.expect(["plan"]);
    expect(plan.stdout).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
  });
});

describe("cloud block with project", () => {
  it("puts a new workspace in the named existing project", async () => {
    const org = await createOrganization(stack);
    const project = await stack.api.post(`/organizations/${org}/projects`, { data: { type: "projects", attributes: { name: "infra" } } });
    expect(project.status).toBe(201);
    const name = `proj-${hex(3)}`;
    const user = await userFor({ organization: org, project: "infra", workspace: name });
    await user.expect(["init", "-input=false"]);
    const ws = await workspaceByName(stack, org, name);
    expect(ws?.relationships.project.data.id).toBe(project.body.data.id);
    const apply = await user.expect(["apply", "-auto-approve"]);
    expect(apply.stdout).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
  });

  it("creates the project when it does not exist yet", async () => {
    const org = await createOrganization(stack);
    const name = `proj-${hex(3)}`;
    const user = await userFor({ organization: org, project: "platform", workspace: name });
    await user.expect(["init", "-input=false"]);
    const projects = await stack.api.get(`/organizations/${org}/projects?filter[names]=platform`);
    expect(projects.status).toBe(200);
    expect(projects.body.data).toHaveLength(1);
    const ws = await workspaceByName(stack, org, name);
    expect(ws?.relationships.project.data.id).toBe(projects.body.data[0].id);
  });
});

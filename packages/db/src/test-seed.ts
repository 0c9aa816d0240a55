import type { Db } from "./client";
import type { NewRun } from "./repositories/runs-write";

/**
 * For this package's tests: the organization `org-1` with workspace `ws-1` and its uploaded
 * configuration version `cv-1`, what most of them create runs in.
 */
export async function seedWorkspace(db: Db): Promise<void> {
  await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
  await db.workspace.create({ data: { id: "ws-1", organizationId: "org-1", name: "w" } });
  await db.configurationVersion.create({ data: { id: "cv-1", workspaceId: "ws-1", status: "uploaded" } });
}

/** A plain plan-and-apply run for insertRun, in `ws-1` unless `overrides` say otherwise. */
export function newRunInput(id: string, overrides: Partial<NewRun> = {}): NewRun {
  return {
    id,
    organizationId: "org-1",
    workspaceId: "ws-1",
    configurationVersionId: "cv-1",
    createdById: null,
    operation: "plan_and_apply",
    source: "tfe-api",
    message: "test",
    isDestroy: false,
    refresh: true,
    refreshOnly: false,
    planOnly: false,
    savePlan: false,
    autoApply: false,
    allowEmptyApply: false,
    allowConfigGeneration: false,
    debuggingMode: false,
    terraformVersion: "1.11.4",
    targetAddrs: [],
    replaceAddrs: [],
    variables: [],
    ...overrides,
  };
}

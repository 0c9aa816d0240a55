import { inTransaction, projectsRepo, tagsRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { invalidAttribute, withUniqueAs } from "../http/request-body";
import { writeTagBindings } from "../http/tag-input";

type TagBindings = tagsRepo.TagBindingInput[];

const nameTaken = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

/** A project with its tag bindings, in one transaction; a name taken in the organization is a 422. */
export async function createProject(
  deps: GatewayDeps,
  organizationId: string,
  settings: projectsRepo.ProjectSettings & { name: string },
  bindings: TagBindings,
) {
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await projectsRepo.isProjectNameTaken(tx, organizationId, settings.name)) throw nameTaken();
        const created = await projectsRepo.createProject(tx, organizationId, settings);
        if (bindings.length > 0) await tagsRepo.replaceBindings(tx, { projectId: created.id }, bindings);
        return created;
      }),
    nameTaken,
  );
}

/** Settings and (when given) the replacing tag bindings, in one transaction. */
export async function updateProject(
  deps: GatewayDeps,
  current: { id: string; organizationId: string },
  settings: projectsRepo.ProjectSettings,
  bindings: TagBindings | null,
) {
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (settings.name !== undefined && (await projectsRepo.isProjectNameTaken(tx, current.organizationId, settings.name, current.id))) {
          throw nameTaken();
        }
        if (bindings) await tagsRepo.replaceBindings(tx, { projectId: current.id }, bindings);
        return projectsRepo.updateProject(tx, current.id, settings);
      }),
    nameTaken,
  );
}

/** Only an empty project that is not the default, decided under the project's row lock. */
export async function deleteProject(deps: GatewayDeps, project: { id: string; isDefault: boolean }): Promise<void> {
  if (project.isDefault) throw invalidAttribute("The default project cannot be deleted", "/data/id");
  await inTransaction(deps.db, async (tx) => {
    if (!(await projectsRepo.lockProjectForUpdate(tx, project.id))) throw notFound();
    if ((await projectsRepo.countWorkspaces(tx, project.id)) > 0) {
      throw invalidAttribute("Project must be empty before it can be deleted: move or delete its workspaces first", "/data/id");
    }
    if (!(await projectsRepo.deleteProject(tx, project.id))) throw notFound();
  });
}

/** Merges or replaces the project's tag bindings under its row lock. */
export async function writeProjectTagBindings(deps: GatewayDeps, projectId: string, bindings: TagBindings, mode: "merge" | "replace"): Promise<void> {
  await inTransaction(deps.db, async (tx) => {
    if (!(await projectsRepo.lockProjectForUpdate(tx, projectId))) throw notFound();
    await writeTagBindings(tx, { projectId }, bindings, mode);
  });
}

import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { Prisma, Project } from "../generated/prisma/client";

export type { Project };

/** A project with what its serializer shows besides its own columns. */
export type ProjectView = Project & { organization: { name: string }; _count: { workspaces: number } };

const viewInclude = {
  organization: { select: { name: true } },
  _count: { select: { workspaces: true } },
} satisfies Prisma.ProjectInclude;

export async function findProjectView(db: Db | Tx, id: string): Promise<ProjectView | null> {
  return db.project.findUnique({ where: { id }, include: viewInclude });
}

/** The organization's default project (the migration's trigger creates it with the organization). */
export async function defaultProjectId(db: Db | Tx, organizationId: string): Promise<string> {
  const row = await db.project.findFirst({ where: { organizationId, isDefault: true }, select: { id: true } });
  if (row) return row.id;
  const [created] = await db.$queryRaw<{ id: string }[]>`SELECT tarmac_default_project_id(${organizationId}) AS id`;
  if (!created?.id) throw new Error(`organization ${organizationId} has no default project`);
  return created.id;
}

export interface ProjectListQuery {
  organizationId: string;
  /** Exact names (`filter[names]`, comma-separated): any of them. */
  names?: string[];
  /** Substring of the name (`q`), case-insensitive. */
  query?: string;
  /** Only projects holding a workspace one of these teams can access; undefined: all. */
  teamIds?: string[];
  /** `filter[tagged][i]`: every one must match a binding of the project. */
  tagged?: { key: string; value?: string }[];
  descending?: boolean;
  offset: number;
  limit: number;
}

export async function listProjectViews(db: Db | Tx, q: ProjectListQuery): Promise<{ items: ProjectView[]; total: number }> {
  const and: Prisma.ProjectWhereInput[] = [{ organizationId: q.organizationId }];
  if (q.names) and.push({ name: { in: q.names } });
  if (q.query) and.push({ name: { contains: q.query, mode: "insensitive" } });
  if (q.teamIds) {
    const teamId = { in: q.teamIds };
    and.push({ OR: [{ teamAccess: { some: { teamId } } }, { workspaces: { some: { teamAccess: { some: { teamId } } } } }] });
  }
  for (const f of q.tagged ?? []) and.push({ tagBindings: { some: f.value ? { key: f.key, value: f.value } : { key: f.key } } });
  const where: Prisma.ProjectWhereInput = { AND: and };
  const direction = q.descending ? ("desc" as const) : ("asc" as const);
  const [items, total] = await Promise.all([
    db.project.findMany({ where, include: viewInclude, orderBy: [{ name: direction }, { id: "asc" }], skip: q.offset, take: q.limit }),
    db.project.count({ where }),
  ]);
  return { items, total };
}

export async function isProjectNameTaken(db: Db | Tx, organizationId: string, name: string, exceptId?: string): Promise<boolean> {
  const row = await db.project.findUnique({ where: { organizationId_name: { organizationId, name } }, select: { id: true } });
  return row !== null && row.id !== exceptId;
}

export interface ProjectSettings {
  name?: string;
  description?: string;
}

export async function createProject(tx: Tx, organizationId: string, settings: ProjectSettings & { name: string }): Promise<ProjectView> {
  const id = newId("prj");
  await tx.project.create({ data: { id, organizationId, ...settings } });
  const view = await findProjectView(tx, id);
  if (!view) throw new Error(`project ${id} vanished after create`);
  return view;
}

export async function updateProject(tx: Tx, id: string, settings: ProjectSettings): Promise<ProjectView> {
  await tx.project.update({ where: { id }, data: settings });
  const view = await findProjectView(tx, id);
  if (!view) throw new Error(`project ${id} vanished after update`);
  return view;
}

/** Locks the project row, so a delete and a workspace moving in cannot interleave. */
export async function lockProjectForUpdate(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM projects WHERE id = ${id} FOR UPDATE`;
  return rows.length === 1;
}

export async function countWorkspaces(db: Db | Tx, projectId: string): Promise<number> {
  return db.workspace.count({ where: { projectId } });
}

export async function deleteProject(tx: Tx, id: string): Promise<boolean> {
  const { count } = await tx.project.deleteMany({ where: { id, isDefault: false } });
  return count === 1;
}

/** Moves a workspace into a project; the caller checked both belong to the same organization. */
export async function setWorkspaceProject(tx: Tx, workspaceId: string, projectId: string): Promise<void> {
  await tx.workspace.update({ where: { id: workspaceId }, data: { projectId } });
}

/** Whether any of these teams can access a workspace of the project (project visibility for members). */
export async function isProjectVisibleToTeams(db: Db | Tx, projectId: string, teamIds: string[]): Promise<boolean> {
  if (teamIds.length === 0) return false;
  const grant = await db.teamProjectAccess.findFirst({ where: { projectId, teamId: { in: teamIds } }, select: { id: true } });
  if (grant) return true;
  const row = await db.workspace.findFirst({
    where: { projectId, teamAccess: { some: { teamId: { in: teamIds } } } },
    select: { id: true },
  });
  return row !== null;
}

import { queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";

export type AccessLevel = "read" | "plan" | "write" | "admin";

/**
 * One team of the principal in the workspace's organization, with its grant on the workspace:
 * the better of a direct grant and the team's access to the workspace's project.
 */
export interface TeamStanding {
  teamId: string;
  isOwners: boolean;
  manageWorkspaces: boolean;
  /** The team's grant on the workspace; null when it has none. */
  access: AccessLevel | null;
}

/**
 * Everything an access check on one workspace needs about a user's or a team's teams, in one
 * statement: run reads check access on every request, and the full workspace view is not needed.
 */
export async function teamStandingsOnWorkspace(
  db: Db | Tx,
  subject: { userId: string } | { teamId: string },
  organizationId: string,
  workspaceId: string,
): Promise<TeamStanding[]> {
  // Past Prisma's request pipeline (see queryRows): run reads with a user's token check access on
  // every request, and the scheduler on every plan that may auto-apply.
  const teams =
    "userId" in subject
      ? Prisma.sql`JOIN team_memberships m ON m.team_id = t.id AND m.user_id = ${subject.userId}`
      : Prisma.empty;
  const which = "userId" in subject ? Prisma.empty : Prisma.sql`t.id = ${subject.teamId} AND `;
  const rows = await queryRows<{ id: string; is_owners: boolean; manage_workspaces: boolean; access: AccessLevel | null }>(
    db,
    Prisma.sql`SELECT t.id, t.is_owners, t.manage_workspaces, GREATEST(a.access, pa.workspace_level)::text AS access
      FROM teams t
      ${teams}
      LEFT JOIN team_workspace_access a ON a.team_id = t.id AND a.workspace_id = ${workspaceId}
      LEFT JOIN team_project_access pa ON pa.team_id = t.id AND pa.project_id = (SELECT project_id FROM workspaces WHERE id = ${workspaceId})
      WHERE ${which}t.organization_id = ${organizationId}`,
  );
  return rows.map((r) => ({ teamId: r.id, isOwners: r.is_owners, manageWorkspaces: r.manage_workspaces, access: r.access }));
}

/** A workspace's identity, for access checks that need nothing else of it. */
export async function findWorkspaceScope(db: Db | Tx, workspaceId: string): Promise<{ id: string; organizationId: string } | null> {
  // Every run list and workspace-scoped check starts here: past Prisma's query compiler (see queryRows).
  const rows = await queryRows<{ id: string; organizationId: string }>(
    db,
    Prisma.sql`SELECT id, organization_id AS "organizationId" FROM workspaces WHERE id = ${workspaceId}`,
  );
  return rows[0] ?? null;
}

import { inTransaction, teamProjectsRepo, teamsRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { invalidAttribute, withUniqueAs } from "../http/request-body";

const taken = () => invalidAttribute("Team already has access to this project", "/data/relationships/team");

/**
 * A team's access to a project of its own organization (another organization's team, or none, is a
 * 404); a team that already has access is a 422, checked or lost to a concurrent create.
 */
export async function grantTeamProjectAccess(
  deps: GatewayDeps,
  project: { id: string; organizationId: string },
  teamId: string,
  grant: teamProjectsRepo.TeamProjectGrant,
): Promise<teamProjectsRepo.TeamProjectAccess> {
  const team = await teamsRepo.findTeamFlags(deps.db, teamId);
  if (!team || team.organizationId !== project.organizationId) throw notFound();
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await teamProjectsRepo.isTeamOnProject(tx, team.id, project.id)) throw taken();
        return teamProjectsRepo.createTeamProjectAccess(tx, team.id, project.id, grant);
      }),
    taken,
  );
}

export async function updateTeamProjectAccess(deps: GatewayDeps, id: string, grant: teamProjectsRepo.TeamProjectGrant): Promise<teamProjectsRepo.TeamProjectAccess> {
  return inTransaction(deps.db, (tx) => teamProjectsRepo.updateTeamProjectAccess(tx, id, grant));
}

/** 404 when it was removed meanwhile. */
export async function revokeTeamProjectAccess(deps: GatewayDeps, id: string): Promise<void> {
  if (!(await teamProjectsRepo.deleteTeamProjectAccess(deps.db, id))) throw notFound();
}

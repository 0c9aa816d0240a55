import { inTransaction, teamsRepo } from "@tarmac/db";
import { TarmacError } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { clearTokenCache } from "../http/auth";
import { invalidAttribute, withUniqueAs } from "../http/request-body";

const nameTaken = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

/** A team in the organization; a name taken there (checked, or lost to a concurrent create) is a 422. */
export async function createTeam(deps: GatewayDeps, organizationId: string, settings: teamsRepo.TeamSettings & { name: string }): Promise<teamsRepo.TeamView> {
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await teamsRepo.isTeamNameTaken(tx, organizationId, settings.name)) throw nameTaken();
        return teamsRepo.createTeam(tx, organizationId, settings);
      }),
    nameTaken,
  );
}

/** The owners team keeps its name and its organization access; another team's name is a 422. */
export async function updateTeam(deps: GatewayDeps, team: teamsRepo.TeamView, settings: teamsRepo.TeamSettings): Promise<teamsRepo.TeamView> {
  if (team.isOwners && settings.name !== undefined && settings.name !== team.name) {
    throw invalidAttribute("The owners team cannot be renamed", "/data/attributes/name");
  }
  if (team.isOwners && (settings.manageWorkspaces === false || settings.manageRunTasks === false || settings.managePolicyOverrides === false)) {
    throw invalidAttribute("The owners team's organization access cannot be changed", "/data/attributes/organization-access");
  }
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (settings.name !== undefined && (await teamsRepo.isTeamNameTaken(tx, team.organizationId, settings.name, team.id))) {
          throw nameTaken();
        }
        return teamsRepo.updateTeam(tx, team.id, settings);
      }),
    nameTaken,
  );
}

/** Any team but the owners team; its token stops working at once on this replica. */
export async function deleteTeam(deps: GatewayDeps, team: teamsRepo.TeamView): Promise<void> {
  if (team.isOwners) throw new TarmacError("unprocessable", { detail: "The owners team cannot be deleted" });
  await teamsRepo.deleteTeam(deps.db, team.id);
  clearTokenCache();
}

import { configurationVersionsRepo } from "@tarmac/db";
import { conflict, notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, type Principal } from "../http/auth";

/** The create body's attributes (validated by the route); HCP's defaults for those left out. */
export interface NewConfigurationVersionAttributes {
  "auto-queue-runs"?: boolean | undefined;
  speculative?: boolean | undefined;
  provisional?: boolean | undefined;
}

export async function createConfigurationVersion(
  deps: GatewayDeps,
  principal: Principal,
  workspaceId: string,
  attrs: NewConfigurationVersionAttributes,
): Promise<configurationVersionsRepo.ConfigurationVersionRow> {
  return configurationVersionsRepo.createConfigurationVersion(
    deps.db,
    {
      workspaceId,
      autoQueueRuns: attrs["auto-queue-runs"] ?? true,
      speculative: attrs.speculative ?? false,
      provisional: attrs.provisional ?? false,
      createdById: actingUserId(principal),
    },
    deps.now(),
  );
}

/** Archives an uploaded version no run in progress uses and that is not the workspace's current one (409 otherwise). */
export async function archiveConfigurationVersion(deps: GatewayDeps, cv: configurationVersionsRepo.ConfigurationVersionRow): Promise<void> {
  const result = await configurationVersionsRepo.archiveConfigurationVersion(deps.db, cv.id, deps.now());
  if (result.ok) return;
  switch (result.reason) {
    case "not_found":
      throw notFound("configuration version not found");
    case "not_uploaded":
      throw conflict(`configuration version is ${cv.status}; only an uploaded one can be archived`);
    case "current":
      throw conflict("configuration version is the workspace's current one");
    case "in_use":
      throw conflict("configuration version is used by a run in progress");
  }
}

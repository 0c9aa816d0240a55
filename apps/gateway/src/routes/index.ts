import type { Router } from "express";
import type { GatewayDeps } from "../deps";
import { accountRouter } from "./account";
import { organizationsRouter } from "./organizations";
import { teamsRouter } from "./teams";
import { tokensRouter } from "./tokens";
import { workspacesRouter } from "./workspaces";
import { variablesRouter } from "./variables";
import { sshKeysRouter } from "./ssh-keys";
import { runsRouter } from "./runs";
import { runActionsRouter } from "./run-actions";
import { runListsRouter } from "./run-lists";
import { plansAppliesRouter } from "./plans-applies";
import { runEventsRouter } from "./run-events";
import { queueRouter } from "./queue";
import { costEstimatesRouter } from "./cost-estimates";
import { configurationVersionsRouter } from "./configuration-versions";
import { stateVersionsRouter } from "./state-versions";
import { stateVersionCreateRouter } from "./state-version-create";
import { archivistRouter } from "./archivist";
import { jobsRouter } from "./jobs";
import { uploadRouter } from "./uploads";
import { stateVersionUploadRouter } from "./state-version-uploads";
import { projectsRouter } from "./projects";
import { workspaceTagsRouter } from "./workspace-tags";
import { teamProjectsRouter } from "./team-projects";
import { notificationConfigurationsRouter } from "./notification-configurations";
import { runTasksRouter } from "./run-tasks";
import { taskIntegrationRouter, taskStagesRouter } from "./task-stages";
import { agentProtocolRouter } from "./agent-protocol";

/** Routers mounted under /api/v2, behind authentication and rate limits. */
export function apiRouters(deps: GatewayDeps): Router[] {
  return [accountRouter(deps), organizationsRouter(deps), teamsRouter(deps), tokensRouter(deps), workspacesRouter(deps), variablesRouter(deps), sshKeysRouter(deps), runsRouter(deps), runActionsRouter(deps), runListsRouter(deps), plansAppliesRouter(deps), runEventsRouter(deps), queueRouter(deps), costEstimatesRouter(deps), configurationVersionsRouter(deps), stateVersionsRouter(deps), stateVersionCreateRouter(deps), projectsRouter(deps), workspaceTagsRouter(deps), teamProjectsRouter(deps), runTasksRouter(deps), taskStagesRouter(deps), notificationConfigurationsRouter(deps)];
}

/** Capability-URL routers: no bearer token, the secret is in the path. */
export function capabilityRouters(deps: GatewayDeps): Router[] {
  // Run task integrations authenticate with the run-scoped token they were sent, not an API token;
  // agents with an agent token (the agent protocol, /api/agent).
  return [archivistRouter(deps), jobsRouter(deps), uploadRouter(deps), stateVersionUploadRouter(deps), taskIntegrationRouter(deps), agentProtocolRouter(deps)];
}

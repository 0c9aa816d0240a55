import type { Router } from "express";
import type { GatewayDeps } from "../deps";
import { accountRouter } from "./account";
import { agentPoolsRouter } from "./agent-pools";
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
import { liveEventsRouter } from "./live-events";
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
import { webSignInRouter } from "./web-sign-in";
import { terraformLoginRouter } from "./terraform-login";
import { agentProtocolRouter } from "./agent-protocol";

/** Routers mounted under /api/v2, behind authentication and rate limits. */
export function apiRouters(deps: GatewayDeps): Router[] {
  return [accountRouter(deps), organizationsRouter(deps), teamsRouter(deps), tokensRouter(deps), workspacesRouter(deps), variablesRouter(deps), sshKeysRouter(deps), runsRouter(deps), runActionsRouter(deps), runListsRouter(deps), plansAppliesRouter(deps), runEventsRouter(deps), queueRouter(deps), costEstimatesRouter(deps), configurationVersionsRouter(deps), stateVersionsRouter(deps), stateVersionCreateRouter(deps), projectsRouter(deps), workspaceTagsRouter(deps), teamProjectsRouter(deps), runTasksRouter(deps), taskStagesRouter(deps), notificationConfigurationsRouter(deps), agentPoolsRouter(deps), liveEventsRouter(deps)];
}

/** Capability-URL routers: no bearer token, the secret is in the path. */
export function capabilityRouters(deps: GatewayDeps): Router[] {
  // Run task integrations authenticate with the run-scoped token they were sent, not an API token;
  // agents with an agent token (the agent protocol, /api/agent).
  return [archivistRouter(deps), jobsRouter(deps), uploadRouter(deps), stateVersionUploadRouter(deps), taskIntegrationRouter(deps), agentProtocolRouter(deps)];
}

/**
 * The web UI's sign-in pages, sign-out and `terraform login` (login.v1): their own body parsing
 * and the session cookie, no bearer token. Mounted before any catch-all of the UI under /app.
 */
export function webAuthRouters(deps: GatewayDeps): Router[] {
  return [webSignInRouter(deps), terraformLoginRouter(deps)];
}

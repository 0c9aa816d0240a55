import type { NextFunction, Request, RequestHandler, Response } from "express";
import { notFound, permits, TarmacError, type Permission } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { loadAgentPoolForPrincipal, type AgentPoolNeed, type LoadedAgentPool } from "./agent-pool-access";
import { principalOf, type Principal } from "./auth";
import { pathParam } from "./request-body";
import { loadRunDocumentForPrincipal, loadRunForPrincipal, type RunContext } from "./run-access";
import {
  loadOrganizationForPrincipal,
  loadWorkspaceForPrincipal,
  loadWorkspaceScopeForPrincipal,
  type LoadedWorkspace,
  type OrganizationContext,
  type WorkspaceRef,
  type WorkspaceScope,
} from "./workspace-access";

/**
 * What a route needs, declared once where it is mounted:
 *
 *   r.patch("/workspaces/:id", requires("workspace", "can-update"), handler)
 *
 * The guard loads the resource named by the path with the principal's standing, asks the access
 * resolver (`@tarmac/domain`) whether it holds the permission, and answers 404 when it does not,
 * exactly as for a missing resource (notes §1.2). The handler reads what was loaded with
 * `workspaceOf(res)`, `runOf(res)`, `organizationOf(res)` or `agentPoolOf(res)`.
 */
export interface Requires {
  /** A workspace by `:id`, or by `:org` and `:name`. */
  (resource: "workspace", permission: Permission): RequestHandler;
  /** A workspace by `:id`, its id and organization only (run lists): read with `workspaceScopeOf(res)`. */
  (resource: "workspace-scope", permission: Permission): RequestHandler;
  /** A run by `:id`; the permission is checked on its workspace. */
  (resource: "run", permission: Permission): RequestHandler;
  /** A run by `:id` with what its document shows (`runOf(res).known`), read in the same statement. */
  (resource: "run-document", permission: Permission): RequestHandler;
  /** An organization by `:org` (or `:name`): any standing in it, or ownership. */
  (resource: "organization", role: "member" | "owner"): RequestHandler;
  /** An agent pool by `:id`: any member reads it, owners manage it. */
  (resource: "agent-pool", need: AgentPoolNeed): RequestHandler;
}

/** The workspace a path names: `/workspaces/:id` or `/organizations/:org/workspaces/:name`. */
export function workspaceRefOf(req: Request): WorkspaceRef {
  const id = req.params.id;
  if (typeof id === "string") return id;
  return { organizationName: pathParam(req, "org"), workspaceName: pathParam(req, "name") };
}

export function guards(deps: GatewayDeps): Requires {
  return ((resource: "workspace" | "workspace-scope" | "run" | "run-document" | "organization" | "agent-pool", need: string): RequestHandler =>
    async (req: Request, res: Response, next: NextFunction) => {
      const principal = principalOf(req);
      switch (resource) {
        case "workspace":
          res.locals.workspace = await loadWorkspaceForPrincipal(deps, principal, workspaceRefOf(req), need as Permission);
          break;
        case "workspace-scope":
          res.locals.workspaceScope = await loadWorkspaceScopeForPrincipal(deps, principal, pathParam(req, "id"), need as Permission);
          break;
        case "run":
          res.locals.run = await loadRunForPrincipal(deps, principal, pathParam(req, "id"), need as Permission);
          break;
        case "run-document":
          res.locals.run = await loadRunDocumentForPrincipal(deps, principal, pathParam(req, "id"), need as Permission);
          break;
        case "organization": {
          const name = typeof req.params.org === "string" ? req.params.org : pathParam(req, "name");
          res.locals.organization = await loadOrganizationForPrincipal(deps, principal, name, { ownerOnly: need === "owner" });
          break;
        }
        case "agent-pool":
          res.locals.agentPool = await loadAgentPoolForPrincipal(deps, principal, pathParam(req, "id"), need as AgentPoolNeed);
          break;
      }
      next();
    }) as Requires;
}

function loaded<T>(res: Response, key: string): T {
  const value = res.locals[key] as T | undefined;
  // A handler reading what its route never declared is a programming error, not a client's.
  if (value === undefined) throw new TarmacError("internal", { detail: `route declares no ${key} requirement` });
  return value;
}

export const workspaceOf = (res: Response): LoadedWorkspace => loaded(res, "workspace");
export const workspaceScopeOf = (res: Response): WorkspaceScope => loaded(res, "workspaceScope");
export const runOf = (res: Response): RunContext => loaded(res, "run");
export const organizationOf = (res: Response): OrganizationContext => loaded(res, "organization");
export const agentPoolOf = (res: Response): LoadedAgentPool => loaded(res, "agentPool");

/**
 * 404 for a principal whose kind of token holds `permission` nowhere (an organization token and
 * run-starting permissions), for routes that name their resource in the body: the answer comes
 * before the body is read, as for routes that name it in the path.
 */
export function refuseTokenKindLacking(principal: Principal, permission: Permission): void {
  if (!permits("admin", principal.kind, permission)) throw notFound();
}

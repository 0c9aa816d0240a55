import type { workspacesRepo } from "@tarmac/db";
import { conflict, TarmacError } from "@tarmac/domain";
import { holdingRunId, lockHolder } from "../serializers/workspaces";
import type { Principal } from "./auth";

/**
 * Who may write a workspace's state over the API, as HCP Terraform answers it: "the workspace
 * must be locked by the user creating the state version" (state-versions API docs). The CLI
 * locks first (`Locked by Terraform`) for local applies, `state rm/mv/push`, `import`, `taint`
 * and state migration, then uploads, then unlocks.
 *
 * - the caller holds the manual lock (the same user; the same team for a team token; an
 *   organization token for a lock taken with one): allowed;
 * - not locked at all: 409 "This workspace is not locked and will only accept state uploads when locked";
 * - locked by another user or team: 409 naming the holder;
 * - held by a run: 409 naming the run. A run's own state arrives through the worker's job URL
 *   (`PUT /_jobs/:runId/:secret/state`), which this rule does not cover.
 *
 * The details repeat HCP's wording, which terraform prints after "Error uploading state: Conflict".
 */
export function assertHoldsStateLock(p: Principal, ws: workspacesRepo.WorkspaceView): void {
  if (!ws.locked) {
    const runId = holdingRunId(ws);
    if (runId) throw conflict(`This workspace is locked by Run ${runId} and will only accept state uploads from them while locked.`);
    throw conflict("This workspace is not locked and will only accept state uploads when locked.");
  }
  if (holdsManualLock(p, ws)) return;
  throw conflict(`This workspace is locked by ${holderName(ws)} and will only accept state uploads from them while locked.`);
}

function holdsManualLock(p: Principal, ws: workspacesRepo.WorkspaceView): boolean {
  if (ws.lockedByUserId) return p.kind === "user" && p.user.id === ws.lockedByUserId;
  if (ws.lockedByTeamId) return p.kind === "team" && p.team.id === ws.lockedByTeamId;
  return p.kind === "organization";
}

function holderName(ws: workspacesRepo.WorkspaceView): string {
  const holder = lockHolder(ws);
  if (holder?.type === "users") return `User ${ws.lockedByUser?.username ?? holder.id}`;
  if (holder?.type === "teams") return `Team ${ws.lockedByTeam?.name ?? holder.id}`;
  return "Organization token";
}

/**
 * Unlocking while the newest state version still waits for its upload. go-tfe (≥ 1.66) turns
 * any non-409 answer containing "latest state version is still pending" into
 * ErrWorkspaceLockedStateVersionStillPending, which terraform ≥ 1.10 retries with backoff
 * (terraform#35747). HCP answers those versions 400 and older ones 503, which their HTTP client
 * retries as a server error; the `Terraform-Version` header tells them apart.
 */
export function statePendingError(terraformVersion: string | undefined): TarmacError {
  const detail = "Unable to unlock workspace: the latest state version is still pending. Retry once its upload completes.";
  return new TarmacError(sendsExplicitRetry(terraformVersion) ? "bad_request" : "service_unavailable", { detail });
}

function sendsExplicitRetry(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 1 || (major === 1 && minor >= 10);
}

import type { Response } from "express";
import type { GatewayDeps } from "../deps";

/**
 * The `x-terraform-snapshot-interval` header terraform reads from the create and
 * current-state-version responses (internal/cloud/state.go): a positive number of seconds turns
 * on intermediate state snapshots during long local applies, at most that often. 0 sends none.
 */
export function setSnapshotInterval(deps: GatewayDeps, res: Response): void {
  const seconds = deps.env.TARMAC_STATE_SNAPSHOT_INTERVAL_SECONDS;
  if (seconds > 0) res.set("X-Terraform-Snapshot-Interval", String(seconds));
}

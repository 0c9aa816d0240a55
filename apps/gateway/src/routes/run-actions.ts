import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function runActionsRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function workspacesRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function variablesRouter(_deps: GatewayDeps): Router {
  return Router();
}

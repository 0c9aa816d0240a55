import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function stateVersionsRouter(_deps: GatewayDeps): Router {
  return Router();
}

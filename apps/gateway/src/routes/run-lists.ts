import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function runListsRouter(_deps: GatewayDeps): Router {
  return Router();
}

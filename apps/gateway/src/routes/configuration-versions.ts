import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function configurationVersionsRouter(_deps: GatewayDeps): Router {
  return Router();
}

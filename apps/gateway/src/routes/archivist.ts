import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function archivistRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function queueRouter(_deps: GatewayDeps): Router {
  return Router();
}

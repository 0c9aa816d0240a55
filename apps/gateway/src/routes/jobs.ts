import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function jobsRouter(_deps: GatewayDeps): Router {
  return Router();
}

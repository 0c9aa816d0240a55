import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function runsRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function runEventsRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function organizationsRouter(_deps: GatewayDeps): Router {
  return Router();
}

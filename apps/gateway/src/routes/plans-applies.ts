import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function plansAppliesRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function costEstimatesRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function tokensRouter(_deps: GatewayDeps): Router {
  return Router();
}

import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function accountRouter(_deps: GatewayDeps): Router {
  return Router();
}

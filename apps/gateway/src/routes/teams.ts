import { Router } from "express";
import type { GatewayDeps } from "../deps";

export function teamsRouter(_deps: GatewayDeps): Router {
  return Router();
}

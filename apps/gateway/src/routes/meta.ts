import { Router } from "express";
import { loginServiceDescription } from "../http/terraform-login";

/** HCP's API version; the terraform `cloud` block requires ≥ 2.5 (notes §1.7). */
export const TFP_API_VERSION = "2.6";

/**
 * The terraform CLI renders structured run output (the redacted plan) only for HCP Terraform
 * (`TFP-AppName`) or a TFE release of 202302-1 or later (`X-TFE-Version`, read from the ping by
 * go-tfe; internal/cloud/backend_plan.go shouldRenderStructuredRunOutput).
 */
export const TFE_VERSION = "v202510-1";

/**
 * Discovery and ping are unauthenticated. X-RateLimit-Limit must be 30 or
 * absent: go-tfe builds its client-side limiter from it (notes §0.4).
 */
export function metaRouter(): Router {
  const r = Router();
  r.get("/.well-known/terraform.json", (_req, res) => {
    res.type("application/json").send(
      JSON.stringify({
        "tfe.v2": "/api/v2/",
        "tfe.v2.1": "/api/v2/",
        "tfe.v2.2": "/api/v2/",
        "state.v2": "/api/v2/",
        "modules.v1": "/api/registry/v1/modules/",
        "providers.v1": "/api/registry/v1/providers/",
        "motd.v1": "/api/terraform/motd",
        // `terraform login`: OAuth authorization code with PKCE (routes/terraform-login.ts).
        "login.v1": loginServiceDescription(),
      }),
    );
  });
  r.get("/api/v2/ping", (_req, res) => {
    res.set("TFP-API-Version", TFP_API_VERSION);
    res.set("X-TFE-Version", TFE_VERSION);
    res.set("X-RateLimit-Limit", "30");
    res.status(204).end();
  });
  return r;
}

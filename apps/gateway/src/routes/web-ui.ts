import { existsSync } from "node:fs";
import path from "node:path";
import { Router, type Request, type Response } from "express";
import { buildWebUi, distDir, readBuiltWebUi, type WebUiBundle } from "@tarmac/web-ui";
import type { GatewayDeps } from "../deps";

/**
 * The browser UI's policy: scripts, styles, fetches and event streams from this origin only
 * (no CDN, no third-party host), and no framing.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Where the bundle comes from: built by `turbo run build` into packages/web-ui/dist when the
 * gateway runs compiled (production, `npm start`); built by esbuild into memory, once, on first
 * use when it runs from its TypeScript sources (tsx: tests and development), so no separate build
 * step is needed and a stale dist/ is never served from source.
 */
export function webUiSource(): () => Promise<WebUiBundle> {
  const fromSource = path.extname(__filename) === ".ts";
  let pending: Promise<WebUiBundle> | null = null;
  return () => {
    pending ??= (async () => {
      if (fromSource) return buildWebUi({ write: false });
      const built = readBuiltWebUi(builtDir());
      if (!built) throw new Error("the web UI is not built: run `npm run build` (packages/web-ui/dist is missing)");
      return built;
    })();
    // A failed build is retried on the next request rather than remembered.
    pending.catch(() => {
      pending = null;
    });
    return pending;
  };
}

/**
 * packages/web-ui/dist of the checkout the gateway runs from. Looked up from this file's place
 * (apps/gateway/dist once compiled) because the compiled gateway has @tarmac packages bundled in.
 */
function builtDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "packages", "web-ui");
    if (existsSync(path.join(candidate, "package.json"))) return path.join(candidate, "dist");
    const parent = path.dirname(dir);
    if (parent === dir) return distDir;
    dir = parent;
  }
}

/**
 * The single-page app under /app: content-hashed assets with long-cache headers, and index.html
 * for every other /app path (deep links such as the run URL the CLI prints). Mounted after every
 * other router, so server-rendered /app routes registered earlier (sign-in) win.
 */
export function webUiRouter(_deps: GatewayDeps, load: () => Promise<WebUiBundle> = webUiSource()): Router {
  const router = Router();

  router.get(["/app", "/app/"], (_req, res) => {
    res.redirect(302, "/app/organizations");
  });

  router.get("/app/assets/:file", async (req: Request, res: Response) => {
    const bundle = await load();
    const asset = bundle.assets.get(String(req.params.file));
    if (!asset) {
      res.status(404).set("Cache-Control", "no-store").type("text/plain").send("not found");
      return;
    }
    res
      .status(200)
      .set({ "Content-Type": asset.contentType, "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff" })
      .send(asset.contents);
  });

  router.get("/app/*rest", async (_req: Request, res: Response) => {
    const bundle = await load();
    res
      .status(200)
      .set({
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-cache",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
      })
      .send(bundle.indexHtml);
  });

  return router;
}

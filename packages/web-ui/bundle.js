"use strict";
// Builds the browser UI with esbuild: src/main.tsx (React, the hand-written CSS it imports) into
// content-hashed files under assets/, plus the index.html that loads them from /app/assets/.
// `npm run build` (turbo) writes them to dist/ for production; the gateway running from source
// (tsx: tests, development) calls buildWebUi({ write: false }) once and serves the result from memory.
const fs = require("node:fs");
const path = require("node:path");

const packageDir = __dirname;
const distDir = path.join(packageDir, "dist");
const ASSET_PREFIX = "/app/assets/";

const CONTENT_TYPES = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".html": "text/html; charset=utf-8",
};

function contentType(name) {
  return CONTENT_TYPES[path.extname(name)] ?? "application/octet-stream";
}

function indexHtml(scripts, styles) {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Tarmac</title>",
    '<link rel="icon" href="data:,">',
    ...styles.map((s) => `<link rel="stylesheet" href="${ASSET_PREFIX}${s}">`),
    ...scripts.map((s) => `<script type="module" src="${ASSET_PREFIX}${s}"></script>`),
    "</head>",
    "<body><div id=\"root\"></div><noscript>Tarmac's web UI needs JavaScript.</noscript></body>",
    "</html>",
    "",
  ].join("\n");
}

/**
 * @param {{ write?: boolean, minify?: boolean }} [options]
 * @returns {Promise<{ indexHtml: string, assets: Map<string, { contents: Buffer, contentType: string }> }>}
 */
async function buildWebUi(options = {}) {
  const write = options.write ?? false;
  // Loaded here, not at the top: a compiled gateway only reads dist/ and never needs esbuild.
  const { build } = require("esbuild");
  const result = await build({
    absWorkingDir: packageDir,
    entryPoints: [path.join(packageDir, "src", "main.tsx")],
    outdir: path.join(distDir, "assets"),
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    minify: options.minify ?? true,
    sourcemap: "linked",
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    logLevel: "warning",
  });
  const assets = new Map();
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    assets.set(name, { contents: Buffer.from(file.contents), contentType: contentType(name) });
  }
  const names = [...assets.keys()];
  const html = indexHtml(names.filter((n) => n.endsWith(".js")), names.filter((n) => n.endsWith(".css")));
  if (write) {
    fs.rmSync(distDir, { recursive: true, force: true });
    fs.mkdirSync(path.join(distDir, "assets"), { recursive: true });
    for (const [name, asset] of assets) fs.writeFileSync(path.join(distDir, "assets", name), asset.contents);
    fs.writeFileSync(path.join(distDir, "index.html"), html);
  }
  return { indexHtml: html, assets };
}

/**
 * The bundle `buildWebUi({ write: true })` left in dist/, or null when there is none.
 * @returns {{ indexHtml: string, assets: Map<string, { contents: Buffer, contentType: string }> } | null}
 */
function readBuiltWebUi(dir = distDir) {
  const indexPath = path.join(dir, "index.html");
  if (!fs.existsSync(indexPath)) return null;
  const assets = new Map();
  for (const name of fs.readdirSync(path.join(dir, "assets"))) {
    assets.set(name, { contents: fs.readFileSync(path.join(dir, "assets", name)), contentType: contentType(name) });
  }
  return { indexHtml: fs.readFileSync(indexPath, "utf8"), assets };
}

module.exports = { buildWebUi, readBuiltWebUi, distDir };

if (require.main === module) {
  buildWebUi({ write: true }).catch((err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
}

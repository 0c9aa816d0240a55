// `turbo run build` (each app's `build`): bundles one app and the @tarmac packages it imports
// into apps/<app>/dist/main.js, with a source map, for `node --enable-source-maps`. Production
// (`npm start`, the Dockerfile, the benchmarks) runs this output; tsx stays for development and
// tests. Third-party packages stay external: node loads them from node_modules as usual, which
// is also what lets the OpenTelemetry instrumentations patch express, pg and ioredis.
// Typechecking is `npm run typecheck` (tsc); esbuild only strips types.
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Bundle options for an app; the module-graph test reuses them to list what an app loads. */
export function appBuildOptions(app) {
  return {
    absWorkingDir: root,
    entryPoints: [path.join(root, "apps", app, "src", "main.ts")],
    outfile: path.join(root, "apps", app, "dist", "main.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    // Stack traces name the TypeScript files and lines (node --enable-source-maps). Without the
    // sources embedded: node keeps the parsed map of the bundle for the life of the process, and
    // the mappings are all a stack trace needs (the sources are in the checkout and the image).
    sourcemap: true,
    sourcesContent: false,
    // `import()` of a package becomes `require`: node's ES module loader would otherwise load
    // for the few there are (Prisma loads its query compiler so) and hold each module it loaded
    // for good, where a CommonJS module can be let go (packages/db releases the compiler's source).
    supported: { "dynamic-import": false },
    // With --enable-source-maps node reads and keeps the parsed source map of every module it
    // loads that names one: ~300 packages' maps (several MB of heap; Prisma's alone is 1 MB). The
    // bundle's own map is read as node compiles it; maps stay off while its top level loads the
    // packages, and come back on after, for stack traces and for anything loaded later.
    banner: { js: "var __sourceMaps = process.sourceMapsEnabled === true; if (__sourceMaps) process.setSourceMapsEnabled(false);" },
    footer: { js: "if (__sourceMaps) process.setSourceMapsEnabled(true);" },
    logLevel: "warning",
    plugins: [externalThirdParty],
  };
}

/** Apps that may run the outbox relay, in a thread whose code is a bundle of its own. */
const RELAYING_APPS = new Set(["gateway", "scheduler"]);

/** The outbox relay's thread (packages/events/relay/thread.ts), next to the app: dist/relay-thread.js. */
export function relayThreadBuildOptions(app) {
  return {
    ...appBuildOptions(app),
    entryPoints: [path.join(root, "packages", "events", "relay", "thread.ts")],
    outfile: path.join(root, "apps", app, "dist", "relay-thread.js"),
  };
}

/** Every bare import except the workspace's own @tarmac packages is loaded from node_modules. */
const externalThirdParty = {
  name: "external-third-party",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@tarmac/") || path.isAbsolute(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/**
 * What an app's bundle is made of, without writing it: the source files bundled (relative to
 * the repository) and the packages it loads from node_modules at run time.
 */
export async function moduleGraph(app, options = appBuildOptions(app)) {
  const { metafile } = await build({ ...options, write: false, metafile: true, logLevel: "silent" });
  const external = new Set();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) if (imported.external) external.add(imported.path);
  }
  return { bundled: Object.keys(metafile.inputs).sort(), external: [...external].sort() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [app = path.basename(process.cwd()), flag] = process.argv.slice(2);
  if (flag === "--graph") process.stdout.write(`${JSON.stringify(await moduleGraph(app))}\n`);
  else if (flag === "--relay-thread-graph") process.stdout.write(`${JSON.stringify(await moduleGraph(app, relayThreadBuildOptions(app)))}\n`);
  else {
    await build(appBuildOptions(app));
    if (RELAYING_APPS.has(app)) await build(relayThreadBuildOptions(app));
  }
}

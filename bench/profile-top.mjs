// Summarizes a V8 CPU profile (`node --cpu-prof`): self time by function and by package.
//   node bench/profile-top.mjs <file.cpuprofile> [rows]
import { readFileSync } from "node:fs";

const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error("usage: node bench/profile-top.mjs <file.cpuprofile> [rows]");
const rows = Number(rowsArg ?? 15);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** The package (or app source folder) a script belongs to. */
function owner(url) {
  if (!url) return "(native/V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith("node:")) return "node core";
  const m = /(apps\/[^/]+|packages\/[^/]+)/.exec(url);
  return m ? m[1] : url;
}

const fn = new Map();
const pkg = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const name = cf.functionName || "(anonymous)";
  const key = `${name} ${cf.url ? `${cf.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(apps|packages)\//, "$1/")}:${cf.lineNumber + 1}` : ""}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const o = ["(idle)", "(program)", "(garbage collector)"].includes(name) ? name : owner(cf.url);
  pkg.set(o, (pkg.get(o) ?? 0) + us);
}
const pct = (us) => `${((100 * us) / total).toFixed(1)}%`;
const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, rows);
console.log(`total ${(total / 1000).toFixed(0)} ms sampled\n\nby package:`);
for (const [k, v] of top(pkg)) console.log(`  ${pct(v).padStart(6)}  ${k}`);
console.log("\nby function (self time):");
for (const [k, v] of top(fn)) console.log(`  ${pct(v).padStart(6)}  ${k}`);

import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** What one wrk run measured. Latencies in milliseconds. */
export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses outside 2xx/3xx plus socket errors: a number that must be 0 for the rate to mean anything. */
  errors: number;
  /** CPU (user + system) of the serving processes per completed request, ms; set by the scenario. */
  cpuMsPerRequest?: number;
}

export interface WrkOptions {
  url: string;
  connections: number;
  durationS: number;
  threads?: number;
  headers?: Record<string, string>;
  method?: "GET" | "POST";
  body?: string;
  /** Request paths taken in turn (each wrk thread starts at the first); `url` then only gives the host. */
  paths?: string[];
  /** POST bodies taken in turn. */
  bodies?: string[];
}

const luaString = (s: string) => JSON.stringify(s);

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function parseDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`unreadable wrk latency "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

export function parseWrkOutput(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1];
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  if (!p50 || !p99 || !Number.isFinite(rps)) throw new Error(`unreadable wrk output:\n${out}`);
  return { rps, p50Ms: parseDuration(p50), p99Ms: parseDuration(p99), requests, errors: non2xx + socketErrors };
}

/** Runs wrk (closed loop: `connections` keep-alive connections, each waiting for its answer). */
export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const args = ["-t", String(opts.threads ?? 2), "-c", String(opts.connections), "-d", `${opts.durationS}s`, "--latency", "--timeout", "10s"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  const lua: string[] = [];
  if (opts.method === "POST") lua.push(`wrk.method = "POST"`, `wrk.body = ${luaString(opts.body ?? "")}`);
  if (opts.paths || opts.bodies) {
    lua.push(`local paths = {${(opts.paths ?? []).map(luaString).join(",")}}`);
    lua.push(`local bodies = {${(opts.bodies ?? []).map(luaString).join(",")}}`);
    lua.push(
      "local i = 0",
      "request = function()",
      "  i = i + 1",
      "  local p = nil",
      "  local b = nil",
      "  if #paths > 0 then p = paths[(i - 1) % #paths + 1] end",
      "  if #bodies > 0 then b = bodies[(i - 1) % #bodies + 1] end",
      "  return wrk.format(nil, p, nil, b)",
      "end",
    );
  }
  if (lua.length > 0) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-bench-wrk-"));
    const script = path.join(dir, "requests.lua");
    await writeFile(script, lua.join("\n") + "\n");
    args.push("-s", script);
  }
  args.push(opts.url);
  const out = await new Promise<string>((resolve, reject) =>
    execFile("wrk", args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`wrk failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  return parseWrkOutput(out);
}

export function hasWrk(): Promise<boolean> {
  return new Promise((resolve) => execFile("wrk", ["-v"], (err, stdout) => resolve(!err || /wrk/.test(String(stdout)))));
}

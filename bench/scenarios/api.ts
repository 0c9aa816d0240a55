import { startCpuSplit, type CpuSplit } from "../lib/cpu-split";
import { cpuMsOf } from "../lib/procs";
import { runWrk, type WrkResult } from "../lib/wrk";
import { sleep } from "../lib/stats";

export interface LoadSettings {
  connections: number;
  durationS: number;
  /** A short run before each measurement, so both sides are measured warm (JIT, pools, caches). */
  warmupS: number;
}

export interface Measured {
  product: WrkResult;
  baseline: WrkResult;
}

/**
 * One wrk measurement after a warm-up, with the CPU time the serving processes (`pids` and their
 * descendants) spent during it per completed request.
 */
async function measure(
  settings: LoadSettings,
  pids: number[],
  opts: Parameters<typeof runWrk>[0],
  split?: Parameters<typeof startCpuSplit>[0],
): Promise<WrkResult & { split?: CpuSplit }> {
  if (settings.warmupS > 0) await runWrk({ ...opts, durationS: settings.warmupS });
  await sleep(500);
  const before = cpuMsOf(pids);
  const cpu = split ? startCpuSplit(split) : undefined;
  const result = await runWrk({ ...opts, connections: settings.connections, durationS: settings.durationS });
  const used = cpuMsOf(pids) - before;
  // The work a request leaves behind (the relay's publish, the scheduler's event) trails its
  // answer by milliseconds: the split closes a moment later, so the last requests' share counts.
  if (cpu) await sleep(300);
  return {
    ...result,
    cpuMsPerRequest: result.requests > 0 ? used / result.requests : Number.NaN,
    ...(cpu ? { split: cpu.stop(result.requests) } : {}),
  };
}

const auth = (token: string) => ({ Authorization: `Bearer ${token}`, Accept: "application/vnd.api+json" });

/** Scenario 1: the two hot reads against the select-by-id baseline. */
export async function benchApiReads(input: {
  settings: LoadSettings;
  gatewayUrl: string;
  baselineUrl: string;
  /** The processes that serve each side, for their CPU time. */
  gatewayPids: number[];
  baselinePids: number[];
  token: string;
  runIds: string[];
  workspaceId: string;
}): Promise<{ getRun: Measured; listRuns: Measured }> {
  const { settings } = input;
  const base = { connections: settings.connections, durationS: settings.durationS };
  const baseline = await measure(settings, input.baselinePids, { ...base, url: `${input.baselineUrl}/`, paths: input.runIds.map((id) => `/runs/${id}`) });
  const getRun = await measure(settings, input.gatewayPids, {
    ...base,
    url: `${input.gatewayUrl}/`,
    headers: auth(input.token),
    paths: input.runIds.map((id) => `/api/v2/runs/${id}`),
  });
  const listRuns = await measure(settings, input.gatewayPids, {
    ...base,
    url: `${input.gatewayUrl}/api/v2/workspaces/${input.workspaceId}/runs?page%5Bsize%5D=20`,
    headers: auth(input.token),
  });
  const bareList = await measure(settings, input.baselinePids, { ...base, url: `${input.baselineUrl}/workspaces/${input.workspaceId}/runs` });
  return { getRun: { product: getRun, baseline }, listRuns: { product: listRuns, baseline: bareList } };
}

/** Scenario 2: POST /api/v2/runs against a bare INSERT, spread over locked workspaces so runs stay pending. */
export async function benchRunCreation(input: {
  settings: LoadSettings;
  gatewayUrl: string;
  baselineUrl: string;
  gatewayPids: number[];
  baselinePids: number[];
  token: string;
  organizationId: string;
  targets: { workspaceId: string; configurationVersionId: string }[];
  /** Every process of the stack, for where each side's CPU goes (startCpuSplit). */
  apps?: Parameters<typeof startCpuSplit>[0];
  baselineApps?: Parameters<typeof startCpuSplit>[0];
}): Promise<Measured & { productSplit?: CpuSplit; baselineSplit?: CpuSplit }> {
  const { settings } = input;
  const base = { connections: settings.connections, durationS: settings.durationS, method: "POST" as const };
  const apiBodies = input.targets.map((t) =>
    JSON.stringify({
      data: {
        type: "runs",
        attributes: { message: "benchmark" },
        relationships: {
          workspace: { data: { type: "workspaces", id: t.workspaceId } },
          "configuration-version": { data: { type: "configuration-versions", id: t.configurationVersionId } },
        },
      },
    }),
  );
  const bareBodies = input.targets.map((t) =>
    JSON.stringify({ organizationId: input.organizationId, workspaceId: t.workspaceId, configurationVersionId: t.configurationVersionId }),
  );
  // The API first: the bare rows would otherwise count as runs ahead in each new run's queue position.
  const product = await measure(settings, input.gatewayPids, {
    ...base,
    url: `${input.gatewayUrl}/api/v2/runs`,
    headers: { ...auth(input.token), "Content-Type": "application/vnd.api+json" },
    bodies: apiBodies,
    paths: ["/api/v2/runs"],
  }, input.apps);
  const baseline = await measure(settings, input.baselinePids, {
    ...base,
    url: `${input.baselineUrl}/runs`,
    headers: { "Content-Type": "application/json" },
    bodies: bareBodies,
    paths: ["/runs"],
  }, input.baselineApps);
  const { split: productSplit, ...productResult } = product;
  const { split: baselineSplit, ...baselineResult } = baseline;
  return {
    product: productResult,
    baseline: baselineResult,
    ...(productSplit ? { productSplit } : {}),
    ...(baselineSplit ? { baselineSplit } : {}),
  };
}

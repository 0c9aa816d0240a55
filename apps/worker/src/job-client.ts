import { jobPaths, jobSpec, type JobSpec } from "@tarmac/contracts";
import { describeFetchError, originOf } from "./fetch-error";

/**
 * The worker's only way to reach Tarmac's storage: the job's capability URL (a secret in the
 * path). Every call is idempotent, so transient failures (a gateway restarting behind a load
 * balancer) are retried a few times.
 */

export class JobApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "JobApiError";
  }
}

export interface JobClientOptions {
  attempts?: number;
  retryDelayMs?: number;
  /** Per request. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface JobClient {
  getSpec(): Promise<JobSpec>;
  getConfiguration(): Promise<Buffer>;
  /** null when the workspace has no state yet. */
  getState(): Promise<Buffer | null>;
  getPlanFile(): Promise<Buffer>;
  putPlanFile(data: Buffer): Promise<void>;
  putPlanJson(data: Buffer): Promise<void>;
  putProviderSchemas(data: Buffer): Promise<void>;
  putState(data: Buffer): Promise<void>;
  putLog(phase: "plan" | "apply", data: Buffer): Promise<void>;
}

export function createJobClient(jobUrl: string, opts: JobClientOptions = {}): JobClient {
  const base = jobUrl.replace(/\/+$/, "");
  const attempts = opts.attempts ?? 4;
  const retryDelayMs = opts.retryDelayMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 120_000;

  // The URL carries the job's secret: errors name the path under it, never the URL itself.
  async function request(method: "GET" | "PUT", sub: string, body?: Buffer, contentType?: string): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(base + sub, {
          method,
          ...(body ? { body: new Uint8Array(body), headers: { "content-type": contentType ?? "application/octet-stream" } } : {}),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.status < 500) return res;
        lastError = new JobApiError(`${method} ${sub} answered ${res.status}`, res.status);
        await res.body?.cancel();
      } catch (err) {
        lastError = err;
      }
      if (attempt < attempts) await sleep(retryDelayMs * 2 ** (attempt - 1));
    }
    if (lastError instanceof JobApiError) throw lastError;
    throw new JobApiError(`${method} ${sub} failed: ${describeFetchError(lastError, originOf(base))}`);
  }

  async function expectOk(res: Response, what: string): Promise<Response> {
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    throw new JobApiError(`${what} answered ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}`, res.status);
  }

  const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());

  return {
    async getSpec() {
      const res = await expectOk(await request("GET", jobPaths.spec), "GET spec");
      return jobSpec.parse(await res.json());
    },
    async getConfiguration() {
      return bytes(await expectOk(await request("GET", jobPaths.configuration), "GET configuration"));
    },
    async getState() {
      const res = await expectOk(await request("GET", jobPaths.state), "GET state");
      if (res.status === 204) return null;
      return bytes(res);
    },
    async getPlanFile() {
      return bytes(await expectOk(await request("GET", jobPaths.planFile), "GET plan-file"));
    },
    async putPlanFile(data) {
      await expectOk(await request("PUT", jobPaths.planFile, data), "PUT plan-file");
    },
    async putPlanJson(data) {
      await expectOk(await request("PUT", jobPaths.planJson, data, "application/json"), "PUT plan-json");
    },
    async putProviderSchemas(data) {
      await expectOk(await request("PUT", jobPaths.providerSchemas, data, "application/json"), "PUT provider-schemas");
    },
    async putState(data) {
      await expectOk(await request("PUT", jobPaths.state, data, "application/json"), "PUT state");
    },
    async putLog(phase, data) {
      await expectOk(await request("PUT", jobPaths.logs(phase), data, "text/plain"), `PUT logs/${phase}`);
    },
  };
}

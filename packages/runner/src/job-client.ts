import { jobPaths, jobSpec, type JobSpec, type Phase } from "@tarmac/contracts";
import { describeFetchError, originOf } from "./fetch-error";
import { DEFAULT_RETRY_POLICY, isRetryableStatus, parseRetryAfter, retryDelayMs, type RetryPolicy } from "./retry";

/**
 * The worker's only way to reach Tarmac's storage: the job's capability URL (a secret in the
 * path). Every call is idempotent, so transient failures (a 5xx or 503 + Retry-After while the
 * database is away, a gateway restarting behind a load balancer) are retried within a budget.
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
  /** How long, and how often, a failing request is tried again (see retry.ts). */
  retry?: Partial<RetryPolicy>;
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
  putLog(phase: Phase, data: Buffer): Promise<void>;
}

export function createJobClient(jobUrl: string, opts: JobClientOptions = {}): JobClient {
  const base = jobUrl.replace(/\/+$/, "");
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
  const timeoutMs = opts.timeoutMs ?? 120_000;

  // The URL carries the job's secret: errors name the path under it, never the URL itself.
  async function request(method: "GET" | "PUT", sub: string, body?: Buffer, contentType?: string): Promise<Response> {
    let lastError: unknown;
    const giveUpAt = Date.now() + policy.budgetMs;
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | null = null;
      try {
        const res = await fetch(base + sub, {
          method,
          ...(body ? { body: new Uint8Array(body), headers: { "content-type": contentType ?? "application/octet-stream" } } : {}),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!isRetryableStatus(res.status)) return res;
        lastError = new JobApiError(`${method} ${sub} answered ${res.status}`, res.status);
        retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        await res.body?.cancel();
      } catch (err) {
        // Connection refused or reset, a timeout: the gateway may be restarting.
        lastError = err;
      }
      const delay = retryDelayMs(policy, attempt, retryAfterMs);
      if (Date.now() + delay >= giveUpAt) break;
      await sleep(delay);
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

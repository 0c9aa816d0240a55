import http from "node:http";
import https from "node:https";
import { JOB_INPUTS_HEADER, jobPaths, jobSpec, parseJobInputLengths, type JobSpec, type Phase } from "@tarmac/contracts";
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

/**
 * One connection pool per process for every job's requests (a worker's slots talk to one
 * gateway): node's http client, not fetch, whose WHATWG streams cost the worker about three times
 * the CPU per request.
 */
const agents = {
  "http:": new http.Agent({ keepAlive: true }),
  "https:": new https.Agent({ keepAlive: true }),
};

interface JobResponse {
  status: number;
  retryAfter: string | undefined;
  /** The lengths of an inputs answer's parts (JOB_INPUTS_HEADER). */
  inputLengths: string | undefined;
  body: Buffer;
}

/** One request, its whole answer read; rejects as node's client does (a `code`, or the abort's reason as `cause`). */
function send(url: URL, method: "GET" | "PUT", body: Buffer | undefined, contentType: string | undefined, timeoutMs: number): Promise<JobResponse> {
  const client = url.protocol === "https:" ? https : http;
  const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
  return new Promise<JobResponse>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method,
        agent,
        headers: body ? { "content-type": contentType ?? "application/octet-stream", "content-length": String(body.length) } : {},
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("error", reject);
        res.once("end", () => {
          const retryAfter = res.headers["retry-after"];
          const inputLengths = res.headers[JOB_INPUTS_HEADER];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            inputLengths: Array.isArray(inputLengths) ? inputLengths[0] : inputLengths,
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

export interface JobInputs {
  spec: JobSpec;
  configuration: Buffer;
  /** null when the workspace has no state yet. */
  state: Buffer | null;
}

export interface JobClient {
  /** The spec, the configuration archive and the current state, in one request. */
  getInputs(): Promise<JobInputs>;
  /** The spec alone. */
  getSpec(): Promise<JobSpec>;
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
  async function request(method: "GET" | "PUT", sub: string, body?: Buffer, contentType?: string): Promise<JobResponse> {
    let lastError: unknown;
    const giveUpAt = Date.now() + policy.budgetMs;
    const url = new URL(base + sub);
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | null = null;
      try {
        const res = await send(url, method, body, contentType, timeoutMs);
        if (!isRetryableStatus(res.status)) return res;
        lastError = new JobApiError(`${method} ${sub} answered ${res.status}`, res.status);
        retryAfterMs = parseRetryAfter(res.retryAfter ?? null);
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

  function expectOk(res: JobResponse, what: string): JobResponse {
    if (res.status >= 200 && res.status < 300) return res;
    const text = res.body.toString("utf8");
    throw new JobApiError(`${what} answered ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}`, res.status);
  }

  const bytes = (res: JobResponse): Buffer => res.body;

  return {
    async getInputs() {
      const res = expectOk(await request("GET", jobPaths.inputs), "GET inputs");
      const lengths = parseJobInputLengths(res.inputLengths);
      const total = lengths ? lengths.spec + lengths.configuration + (lengths.state ?? 0) : -1;
      if (!lengths || total !== res.body.length) {
        throw new JobApiError(`GET inputs answered ${res.body.length} bytes that ${JOB_INPUTS_HEADER} (${res.inputLengths ?? "missing"}) does not describe`);
      }
      const configurationEnd = lengths.spec + lengths.configuration;
      return {
        spec: jobSpec.parse(JSON.parse(res.body.subarray(0, lengths.spec).toString("utf8"))),
        configuration: res.body.subarray(lengths.spec, configurationEnd),
        state: lengths.state === null ? null : res.body.subarray(configurationEnd),
      };
    },
    async getSpec() {
      const res = expectOk(await request("GET", jobPaths.spec), "GET spec");
      return jobSpec.parse(JSON.parse(res.body.toString("utf8")));
    },
    async getPlanFile() {
      return bytes(expectOk(await request("GET", jobPaths.planFile), "GET plan-file"));
    },
    async putPlanFile(data) {
      expectOk(await request("PUT", jobPaths.planFile, data), "PUT plan-file");
    },
    async putPlanJson(data) {
      expectOk(await request("PUT", jobPaths.planJson, data, "application/json"), "PUT plan-json");
    },
    async putProviderSchemas(data) {
      expectOk(await request("PUT", jobPaths.providerSchemas, data, "application/json"), "PUT provider-schemas");
    },
    async putState(data) {
      expectOk(await request("PUT", jobPaths.state, data, "application/json"), "PUT state");
    },
    async putLog(phase, data) {
      expectOk(await request("PUT", jobPaths.logs(phase), data, "text/plain"), `PUT logs/${phase}`);
    },
  };
}

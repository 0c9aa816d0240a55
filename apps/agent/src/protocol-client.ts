import {
  agentJob,
  agentProtocolPaths,
  agentRegistration,
  agentStatusAnswer,
  jobPaths,
  type AgentJob,
  type AgentRegistration,
  type AgentStatusAnswer,
  type Phase,
  type PhaseProgressEvent,
} from "@tarmac/contracts";
import { coalescingSink, describeFetchError, type LiveLogSink } from "@tarmac/runner";

/** The gateway refused the agent token (401): it is invalid or was revoked. The agent must stop. */
export class TokenRejectedError extends Error {
  constructor(detail: string) {
    super(`the agent token was rejected (401): it is invalid or has been revoked${detail ? ` (${detail})` : ""}`);
    this.name = "TokenRejectedError";
  }
}

/** The agent no longer holds the job (409): the scheduler settled the run without it. */
export class JobNotHeldError extends Error {
  constructor() {
    super("this agent no longer holds the job: the run has moved on without it");
    this.name = "JobNotHeldError";
  }
}

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The agent's side of the agent protocol: every call is outbound HTTPS to TARMAC_ADDRESS with
 * the agent token. Nothing else is reachable or needed.
 */
export class AgentProtocolClient {
  private readonly base: string;

  constructor(
    address: string,
    private readonly token: string,
  ) {
    this.base = address.replace(/\/+$/, "");
  }

  /** An absolute URL under the address for a path the gateway handed out (a job URL's path). */
  urlOf(path: string): string {
    return this.base + path;
  }

  private async call(method: "GET" | "POST", path: string, body: unknown, timeoutMs: number, abort?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: abort ? AbortSignal.any([abort, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ProtocolError(`${method} ${path.split("?")[0]} failed: ${describeFetchError(err, this.base)}`);
    }
    if (res.status === 401) {
      const text = await res.text().catch(() => "");
      throw new TokenRejectedError(detailOf(text));
    }
    return res;
  }

  private async expect(res: Response, what: string, ...ok: number[]): Promise<Response> {
    if (ok.includes(res.status)) return res;
    const text = await res.text().catch(() => "");
    throw new ProtocolError(`${what} answered ${res.status}${text ? `: ${detailOf(text)}` : ""}`, res.status);
  }

  async register(name: string, capacity: number): Promise<AgentRegistration> {
    const res = await this.expect(await this.call("POST", agentProtocolPaths.register, { name, capacity }, 30_000), "register", 201);
    return agentRegistration.parse(await res.json());
  }

  /** `running`: the jobs the agent runs now, so Tarmac can settle any other it believes the agent holds. */
  async ping(agentId: string, status?: "idle" | "busy" | "exited", running?: string[]): Promise<AgentStatusAnswer> {
    const body = { ...(status ? { status } : {}), ...(running ? { running } : {}) };
    const res = await this.expect(await this.call("POST", agentProtocolPaths.status(agentId), body, 15_000), "status", 200);
    return agentStatusAnswer.parse(await res.json());
  }

  /** Long poll: a job, or null when none came within `waitMs` (or `abort` fired: the agent is stopping). */
  async nextJob(agentId: string, waitMs: number, abort?: AbortSignal): Promise<AgentJob | null> {
    const res = await this.expect(await this.call("GET", agentProtocolPaths.nextJob(agentId, waitMs), undefined, waitMs + 15_000, abort), "poll", 200, 204);
    if (res.status === 204) return null;
    return agentJob.parse(await res.json());
  }

  /**
   * Reports a progress event; transient failures are retried for `retryForMs` (the phase's
   * outcome must reach the scheduler across a gateway restart). Each event has a fixed message
   * id, so a retry is recorded once.
   */
  async report(agentId: string, jobId: string, event: PhaseProgressEvent, retryForMs = 0): Promise<void> {
    const giveUpAt = Date.now() + retryForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.call("POST", agentProtocolPaths.events(agentId, jobId), event, 30_000);
        if (res.status === 409) {
          await res.body?.cancel();
          throw new JobNotHeldError();
        }
        await this.expect(res, `report ${event.kind}`, 204);
        return;
      } catch (err) {
        const isRetryable = err instanceof ProtocolError && (err.status === undefined || err.status >= 500);
        if (!isRetryable || Date.now() + 1_000 > giveUpAt) throw err;
        await sleep(Math.min(10_000, 500 * attempt));
      }
    }
  }

  /**
   * The live log through the job URL. Chunks are sent in order, one request at a time; chunks
   * written while a request is in flight go together in the next one.
   */
  liveLog(jobUrl: string, phase: Phase): LiveLogSink {
    const url = jobUrl.replace(/\/+$/, "") + jobPaths.liveLog(phase);
    return coalescingSink(async (body, reset) => {
      const res = await fetch(reset ? `${url}?reset=1` : url, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(body),
        signal: AbortSignal.timeout(30_000),
      });
      await res.body?.cancel();
      if (res.status !== 204) throw new ProtocolError(`live log answered ${res.status}`, res.status);
    });
  }
}

/** A JSON:API error document's detail, or the text itself, shortened. */
function detailOf(text: string): string {
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ detail?: string; title?: string }> };
    const first = doc.errors?.[0];
    if (first) return first.detail ?? first.title ?? "";
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}

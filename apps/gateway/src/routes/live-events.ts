import { Router, type Request, type Response } from "express";
import { liveLogKey } from "@tarmac/contracts";
import { runLists, runsRead, workspaceAccessRepo } from "@tarmac/db";
import { applyIdFor, isFinalStatus, isId, notFound, planIdFor, type RunStatus } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { guards, runOf } from "../http/requires";
import { parseListPage } from "../http/run-visibility";
import { workspaceAccessOf } from "../http/workspace-access";

/** How often a run stream reads the live log's new bytes while a phase is running (logs are not events). */
export const LIVE_POLL_MS = 500;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** The most log bytes one `log` event carries. */
const MAX_LOG_CHUNK = 64 * 1024;

/**
 * The event streams open in this process: shutdown ends them (the browser reconnects to another
 * replica, resuming from Last-Event-ID) so the HTTP server can close without waiting them out.
 */
export interface LiveStreams {
  add(end: () => void): () => void;
  endAll(): void;
}

export function createLiveStreams(): LiveStreams {
  const open = new Set<() => void>();
  return {
    add(end) {
      open.add(end);
      return () => open.delete(end);
    },
    endAll() {
      for (const end of [...open]) end();
    },
  };
}

/** Server-Sent Events: one `event:`/`id:`/`data:` record per message (the data is one JSON line). */
function openStream(req: Request, res: Response, streams: LiveStreams | undefined, wake: () => void): { send(event: string, data: unknown, id?: string): void; closed(): boolean } {
  res.status(200);
  res.set({
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    Connection: "keep-alive",
    // nginx and other buffering proxies pass events through at once.
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  res.write("retry: 2000\n\n");
  let closed = false;
  const forget = streams?.add(() => {
    closed = true;
    res.end();
    wake();
  });
  req.on("close", () => {
    closed = true;
    forget?.();
    wake();
  });
  return {
    send(event, data, id) {
      if (closed) return;
      res.write(`event: ${event}\n${id !== undefined ? `id: ${id}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
    },
    closed: () => closed,
  };
}

/**
 * A stream loop's pause: `wait(ms)` resolves after `ms`, or at once when woken (an event named the
 * stream's run or workspace, or the stream closed). A wake-up during a read is kept for the next
 * wait, so no change between a read and the pause is missed.
 */
export function createWaker(): { wake(): void; wait(ms: number): Promise<void> } {
  let pending = false;
  let resolveWait: (() => void) | null = null;
  return {
    wake() {
      if (resolveWait) resolveWait();
      else pending = true;
    },
    wait(ms) {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolveWait = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        resolveWait = done;
      });
    },
  };
}

/**
 * Where the next bytes of the bytes read start: the end, minus an incomplete UTF-8 sequence at
 * the end (its bytes are sent with the next event, so no character is ever split).
 */
export function completeUtf8Length(bytes: Buffer): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** `id:` of a run stream's events: the next log offsets of plan and apply, "<plan>.<apply>". */
function parseOffsets(raw: unknown): { plan: number; apply: number } {
  const m = typeof raw === "string" ? /^(\d{1,12})\.(\d{1,12})$/.exec(raw) : null;
  return m ? { plan: Number(m[1]), apply: Number(m[2]) } : { plan: 0, apply: 0 };
}

/**
 * Live updates for the web UI, as Server-Sent Events under /api/v2 (same authentication, the same
 * 404 as the JSON:API for what the caller may not read):
 *
 * `GET /api/v2/runs/:id/events-stream` (needs can-read-run, as GET /runs/:id):
 *   - `event: run`, data `{"id","status","plan-status","apply-status","updated-at"}`: sent first and
 *     whenever one of them changes; the client re-reads GET /runs/:id for the rest.
 *   - `event: log`, `id: <plan offset>.<apply offset>`, data `{"phase":"plan"|"apply","offset","text"}`:
 *     the log's new bytes (STX/ETX framing included, as the log-read-url serves them), whole UTF-8
 *     characters only. A reconnecting EventSource sends the last id as Last-Event-ID and the stream
 *     resumes from those offsets (or `?offsets=<plan>.<apply>`).
 *   - `event: end`: the run is final and both logs are read to their end; the stream closes.
 * `GET /api/v2/workspaces/:id/events-stream` (any access to the workspace, as its run list):
 *   - `event: workspace`, data `{"id","runs":[[id,status]…],"locked"}`: first, then whenever the
 *     newest runs' statuses or the lock change; the client re-reads what it shows.
 *
 * The streams are fed by the events Tarmac publishes: a run status change, run creation or phase
 * progress on NATS wakes the streams of that run and of its workspace (http/run-wakeups.ts), which
 * re-read what they show from PostgreSQL (the same reads, with the caller's permissions). The live
 * log is no event: while a phase runs the run stream reads its new bytes (Redis, then the durable
 * blob) every LIVE_POLL_MS. Otherwise a stream re-reads only every TARMAC_LIVE_SAFETY_POLL_MS, the
 * safety net for a NATS outage or a missed message.
 */
export function liveEventsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);
  /** The safety net's pause, cut short to send the next keepalive comment on time. */
  const safetyPollMs = (sinceKeepalive: number) => Math.max(LIVE_POLL_MS, Math.min(deps.env.TARMAC_LIVE_SAFETY_POLL_MS, KEEPALIVE_MS - sinceKeepalive + 50));

  async function readLog(phaseId: string, offset: number): Promise<{ bytes: Buffer; durable: boolean }> {
    const phase = await runsRead.phaseLogBlobId(deps.db, phaseId);
    if (!phase) return { bytes: Buffer.alloc(0), durable: false };
    if (phase.blobId !== null) return { bytes: await runsRead.readBlobRange(deps.db, phase.blobId, offset, MAX_LOG_CHUNK), durable: true };
    return { bytes: await deps.redis.getrangeBuffer(liveLogKey(phaseId), offset, offset + MAX_LOG_CHUNK - 1), durable: false };
  }

  router.get("/runs/:id/events-stream", requires("run", "can-read-run"), async (req, res) => {
    const { run } = runOf(res);
    const offsets = parseOffsets(req.get("Last-Event-ID") ?? req.query.offsets);
    const waker = createWaker();
    const stream = openStream(req, res, deps.liveStreams, waker.wake);
    const unsubscribe = deps.runWakeups?.subscribe(run.id, waker.wake);
    const phases = [
      { key: "plan" as const, id: planIdFor(run.id) },
      { key: "apply" as const, id: applyIdFor(run.id) },
    ];
    let lastRun = "";
    let lastKeepalive = Date.now();
    let finalSince: number | null = null;
    const endedSince: { plan?: number; apply?: number } = {};
    try {
      while (!stream.closed()) {
        const current = await runsRead.findRun(deps.db, run.id);
        if (!current) break;
        const [plan, apply] = await Promise.all([runsRead.findPlan(deps.db, phases[0]!.id), runsRead.findApply(deps.db, phases[1]!.id)]);
        const summary = {
          id: current.id,
          status: current.status,
          "plan-status": plan?.status ?? null,
          "apply-status": apply?.status ?? null,
          "updated-at": current.updatedAt.toISOString(),
        };
        const key = JSON.stringify(summary);
        if (key !== lastRun) {
          lastRun = key;
          stream.send("run", summary);
        }
        let logsAtEnd = true;
        let bytesDue = false;
        for (const phase of phases) {
          for (;;) {
            const { bytes, durable } = await readLog(phase.id, offsets[phase.key]);
            const usable = bytes.length === MAX_LOG_CHUNK ? completeUtf8Length(bytes) : bytes.length;
            if (usable > 0) {
              const offset = offsets[phase.key];
              offsets[phase.key] += usable;
              stream.send("log", { phase: phase.key, offset, text: bytes.subarray(0, usable).toString("utf8") }, `${offsets.plan}.${offsets.apply}`);
            }
            if (bytes.length < MAX_LOG_CHUNK || stream.closed()) {
              const phaseStatus = phase.key === "plan" ? plan?.status : apply?.status;
              // A phase that will write no more: its log is durable, or it never started.
              if (!durable && phaseStatus !== "pending" && phaseStatus !== "unreachable" && phaseStatus !== "canceled") logsAtEnd = false;
              // A phase writing its log, or one that just ended whose log is about to turn durable
              // (for 10 s at most: a lost worker's never does): more bytes soon.
              if (!durable && phaseStatus === "running") bytesDue = true;
              if (!durable && (phaseStatus === "finished" || phaseStatus === "errored")) {
                endedSince[phase.key] ??= Date.now();
                if (Date.now() - endedSince[phase.key]! < 10_000) bytesDue = true;
              }
              break;
            }
          }
        }
        if (isFinalStatus(current.status as RunStatus)) finalSince ??= Date.now();
        // A final run whose log never became durable (a worker lost mid-phase) ends after a grace.
        if (finalSince !== null && (logsAtEnd || Date.now() - finalSince > 10_000)) {
          stream.send("end", { id: current.id, status: current.status });
          break;
        }
        if (Date.now() - lastKeepalive > KEEPALIVE_MS) {
          lastKeepalive = Date.now();
          if (!stream.closed()) res.write(": keepalive\n\n");
        }
        // Log bytes come while a phase runs (and until its log turns durable): read them often.
        // Otherwise wait for an event, re-reading slowly in case NATS is out.
        await waker.wait(bytesDue || (finalSince !== null && !logsAtEnd) ? LIVE_POLL_MS : safetyPollMs(Date.now() - lastKeepalive));
      }
    } catch (err) {
      deps.logger.warn({ runId: run.id, error: err instanceof Error ? err.message : String(err) }, "run events stream failed");
    } finally {
      unsubscribe?.();
    }
    if (!res.writableEnded) res.end();
  });

  router.get("/workspaces/:id/events-stream", async (req, res) => {
    const principal = principalOf(req);
    const workspaceId = String(req.params.id);
    if (!isId("ws", workspaceId)) throw notFound("workspace not found");
    const scope = await workspaceAccessRepo.findWorkspaceScope(deps.db, workspaceId);
    if (!scope) throw notFound("workspace not found");
    const access = await workspaceAccessOf(deps.db, principal, scope);
    if (access === null) throw notFound("workspace not found");
    const waker = createWaker();
    const stream = openStream(req, res, deps.liveStreams, waker.wake);
    const unsubscribe = deps.runWakeups?.subscribe(scope.id, waker.wake);
    const page = parseListPage({ page: { size: "20" } });
    let last = "";
    let lastKeepalive = Date.now();
    try {
      while (!stream.closed()) {
        const [workspace, { rows }] = await Promise.all([
          runsRead.findWorkspace(deps.db, scope.id),
          runLists.listWorkspaceRuns(deps.db, scope.id, { excludePlanOnly: true }, page),
        ]);
        if (!workspace) break;
        const summary = { id: workspace.id, runs: rows.map((r) => [r.id, r.status]), locked: workspace.locked };
        const key = JSON.stringify(summary);
        if (key !== last) {
          last = key;
          stream.send("workspace", summary);
        }
        if (Date.now() - lastKeepalive > KEEPALIVE_MS) {
          lastKeepalive = Date.now();
          if (!stream.closed()) res.write(": keepalive\n\n");
        }
        await waker.wait(safetyPollMs(Date.now() - lastKeepalive));
      }
    } catch (err) {
      deps.logger.warn({ workspaceId, error: err instanceof Error ? err.message : String(err) }, "workspace events stream failed");
    } finally {
      unsubscribe?.();
    }
    if (!res.writableEnded) res.end();
  });

  return router;
}

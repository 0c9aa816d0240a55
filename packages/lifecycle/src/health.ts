import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { Router } from "express";
import type { LifecycleLogger } from "./logger";

export type HealthCheck = () => Promise<void>;

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export interface HealthRouterOptions {
  /** Readiness checks by name (e.g. postgres, redis, nats); each resolves when its dependency answers. */
  checks: Record<string, HealthCheck>;
  checkTimeoutMs?: number;
  /** When true, /readyz answers 503 without running checks, so load balancers stop routing here. */
  isShuttingDown?: () => boolean;
  /** Where a failing check's error goes: /readyz names the failing dependency, never its error text. */
  logger?: LifecycleLogger;
}

/** Seconds a probe or client is told to wait before asking again after a 503. */
export const READINESS_RETRY_AFTER_SECONDS = 5;

/** What /readyz shows: each check's status, without error text (it can carry hosts, users, internals). */
export interface PublicReadinessReport {
  status: ReadinessReport["status"];
  checks: Record<string, { status: CheckReport["status"] }>;
}

export function publicReport(report: ReadinessReport): PublicReadinessReport {
  return { status: report.status, checks: Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, { status: check.status }])) };
}

export type CheckReport = { status: "ok" } | { status: "failed"; error: string };

export interface ReadinessReport {
  status: "ok" | "unavailable" | "shutting_down";
  checks: Record<string, CheckReport>;
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(check), timeout]);
    return { status: "ok" };
  } catch (error) {
    return { status: "failed", error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(options: HealthRouterOptions): Promise<ReadinessReport> {
  if (options.isShuttingDown?.()) return { status: "shutting_down", checks: {} };
  const timeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const entries = await Promise.all(
    Object.entries(options.checks).map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
  );
  const checks = Object.fromEntries(entries);
  const isReady = entries.every(([, report]) => report.status === "ok");
  return { status: isReady ? "ok" : "unavailable", checks };
}

/** `GET /healthz`: the process lives. `GET /readyz`: its dependencies answer (200) or not (503). */
export function healthRouter(options: HealthRouterOptions): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.set("cache-control", "no-store").status(200).json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const report = await checkReadiness(options);
    for (const [name, check] of Object.entries(report.checks)) {
      if (check.status === "failed") options.logger?.warn({ check: name, error: check.error }, "readiness check failed");
    }
    res.set("cache-control", "no-store");
    if (report.status !== "ok") res.set("retry-after", String(READINESS_RETRY_AFTER_SECONDS));
    res.status(report.status === "ok" ? 200 : 503).json(publicReport(report));
  });
  return router;
}

export interface HealthServerOptions extends HealthRouterOptions {
  /** 0 picks a free port. */
  port: number;
  /** Interface to bind; all interfaces when omitted (containers are probed from outside). */
  host?: string;
  logger: LifecycleLogger;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** A standalone /healthz + /readyz server for processes without their own HTTP server (scheduler, worker). */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const app = express();
  app.disable("x-powered-by");
  app.use(healthRouter(options));

  const server = await new Promise<Server>((resolve, reject) => {
    const onListen = (error?: Error) => (error ? reject(error) : resolve(listening));
    const listening =
      options.host === undefined ? app.listen(options.port, onListen) : app.listen(options.port, options.host, onListen);
  });
  const { port } = server.address() as AddressInfo;
  options.logger.info({ port }, "health server listening");

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Probes use keep-alive; idle sockets would otherwise hold close() open.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

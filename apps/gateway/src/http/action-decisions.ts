import { runActionsRepo, type Db, type RunActionRequestModel } from "@tarmac/db";
import type { EventsLogger } from "@tarmac/events";
import { listenOnChannel } from "@tarmac/events/relay";

/** Re-reads a waited-for request this often even without a NOTIFY (a lost LISTEN connection). */
const POLL_MS = 250;

/**
 * Waits for the scheduler to carry out (or refuse) an action request the gateway recorded, so
 * the answer to the action comes after its effect is visible, as it did when the gateway changed
 * the status itself. The scheduler NOTIFYs the request id when it decides one; waiting is bounded,
 * and a request the scheduler has not decided by then is still carried out later.
 */
export interface ActionDecisions {
  /** The request once decided, or as it still is (pending) when `timeoutMs` passed. */
  wait(id: string, timeoutMs: number): Promise<RunActionRequestModel | null>;
  close(): Promise<void>;
}

/** `databaseUrl` undefined (only a transaction-mode pooler is configured): decisions are polled. */
export function startActionDecisions(opts: { db: Db; databaseUrl: string | undefined; channel: string; logger: EventsLogger }): ActionDecisions {
  const waiters = new Map<string, Set<() => void>>();
  const wakeAll = () => {
    for (const set of waiters.values()) for (const wake of set) wake();
  };
  const listener = opts.databaseUrl
    ? listenOnChannel(
        opts.databaseUrl,
        opts.channel,
        (payload) => {
          if (payload === null) return wakeAll();
          for (const wake of waiters.get(payload) ?? []) wake();
        },
        opts.logger,
        1_000,
      )
    : null;

  return {
    async wait(id, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let wake!: () => void;
        let timer: NodeJS.Timeout | undefined;
        // Listen before reading, so a decision committed between the two still wakes us.
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, Math.max(0, Math.min(POLL_MS, deadline - Date.now())));
        });
        const set = waiters.get(id) ?? new Set();
        set.add(wake);
        waiters.set(id, set);
        try {
          const row = await runActionsRepo.findActionRequest(opts.db, id);
          if (!row || row.status !== "pending" || Date.now() >= deadline) return row;
          await woken;
        } finally {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0) waiters.delete(id);
        }
      }
    },
    close: async () => {
      await listener?.close();
    },
  };
}

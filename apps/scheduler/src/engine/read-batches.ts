import { schedulerRepo } from "@tarmac/db";
import type { SchedulerContext } from "./context";

/**
 * A read whose keys, asked for in the same turn of the event loop, go to PostgreSQL together
 * (`load` once per turn, at most `maxBatch` keys a statement). A burst of events (JetStream hands
 * a consumer up to 32 messages at once, eight handled at a time) so costs one statement instead
 * of one each, and the handlers, answered together, acknowledge their messages together. A
 * failed load fails every read of its batch (each event is then redelivered).
 */
export function batchedRead<K, V>(load: (keys: K[]) => Promise<Map<K, V>>, maxBatch = 64): (key: K) => Promise<V | undefined> {
  let waiting: { key: K; resolve: (value: V | undefined) => void; reject: (error: unknown) => void }[] = [];
  const flush = (): void => {
    const batch = waiting;
    waiting = [];
    for (let i = 0; i < batch.length; i += maxBatch) {
      const part = batch.slice(i, i + maxBatch);
      load([...new Set(part.map((w) => w.key))]).then(
        (values) => {
          for (const w of part) w.resolve(values.get(w.key));
        },
        (error: unknown) => {
          for (const w of part) w.reject(error);
        },
      );
    }
  };
  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      // After the turn's microtasks: every handler a message batch started has asked by then.
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ key, resolve, reject });
    });
}

const newRunFacts = new WeakMap<SchedulerContext, (runId: string) => Promise<schedulerRepo.NewRunQueueFacts | undefined>>();

/** A new run's queue facts (schedulerRepo.findNewRunQueueFactsOfRuns), batched per context (see batchedRead). */
export function readNewRunQueueFacts(ctx: SchedulerContext, runId: string): Promise<schedulerRepo.NewRunQueueFacts | undefined> {
  let read = newRunFacts.get(ctx);
  if (!read) newRunFacts.set(ctx, (read = batchedRead((runIds: string[]) => schedulerRepo.findNewRunQueueFactsOfRuns(ctx.db, runIds))));
  return read(runId);
}

import { DiscardPolicy, RetentionPolicy, StorageType, jetstreamManager, type StreamConfig } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import type { Subjects } from "@tarmac/contracts";

export interface StreamOptions {
  /** Window within which a repeated Nats-Msg-Id is dropped (default 2 minutes). */
  duplicateWindowMs?: number;
  /** How long events are kept (default 7 days): consumers that were down catch up within it. */
  maxAgeMs?: number;
  storage?: "file" | "memory";
  /**
   * Copies of the stream across a JetStream cluster (NATS_STREAM_REPLICAS): 3 survives the
   * loss of one server. Unset: a new stream gets 1 and an existing one keeps its count.
   */
  replicas?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates the deployment's stream, or updates it to this configuration. Every
 * process calls it at boot, so it must be idempotent and safe to race. A
 * JetStream API request that times out (a cluster electing a leader, or busy
 * with the other processes' boot) is tried again, a few times, before it fails
 * the caller.
 */
export async function ensureStream(
  nc: NatsConnection,
  subjects: Pick<Subjects, "streamName" | "streamSubjects">,
  options: StreamOptions = {},
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureStreamOnce(nc, subjects, options);
    } catch (error) {
      if (!isTimeout(error) || attempt >= ENSURE_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

const ENSURE_ATTEMPTS = 6;

async function ensureStreamOnce(
  nc: NatsConnection,
  subjects: Pick<Subjects, "streamName" | "streamSubjects">,
  options: StreamOptions,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config: Partial<StreamConfig> & { name: string } = {
    name: subjects.streamName,
    subjects: [...subjects.streamSubjects],
    storage: options.storage === "memory" ? StorageType.Memory : StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(options.duplicateWindowMs ?? 2 * 60 * 1000),
    max_age: nanos(options.maxAgeMs ?? 7 * DAY_MS),
    ...(options.replicas !== undefined ? { num_replicas: options.replicas } : {}),
  };
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(subjects.streamName)).config;
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addError) {
      // Another process created it between our info and add: fall through to update.
      if (!isAlreadyInUse(addError)) throw addError;
      existing = (await jsm.streams.info(subjects.streamName)).config;
    }
  }
  // Already as wanted (every replica's boot after the first): no update to agree on.
  if (sameStreamConfig(existing, config)) return;
  const { name, storage: _storage, ...updatable } = config;
  await jsm.streams.update(name, updatable);
}

function sameStreamConfig(existing: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  const sameSubjects = [...(existing.subjects ?? [])].sort().join(" ") === [...(wanted.subjects ?? [])].sort().join(" ");
  return (
    sameSubjects &&
    existing.retention === wanted.retention &&
    existing.discard === wanted.discard &&
    existing.duplicate_window === wanted.duplicate_window &&
    existing.max_age === wanted.max_age &&
    (wanted.num_replicas === undefined || existing.num_replicas === wanted.num_replicas)
  );
}

/** Deletes a stream (tests clean up their own per-file stream; never the deployment's). */
export async function deleteStream(nc: NatsConnection, streamName: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.delete(streamName);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
  }
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof Error && /stream not found/i.test(error.message);
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || /timeout|timed out/i.test(error.message));
}

function isAlreadyInUse(error: unknown): boolean {
  return error instanceof Error && /already in use|name already/i.test(error.message);
}

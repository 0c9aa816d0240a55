/**
 * Where a phase's live log goes while it grows: a Redis key for a worker (the gateway's
 * log-read-url serves it), the gateway over HTTPS for an agent. Best effort: a failed write
 * loses only the live view. Writes must reach the store in the order they are made.
 */
export interface LiveLogSink {
  /** Starts the live log afresh with these bytes (a re-run phase starts a fresh log). */
  reset(first: Buffer): Promise<unknown>;
  append(chunk: Buffer): Promise<unknown>;
}

/**
 * A sink that sends one write at a time: chunks written while a write is in flight go together in
 * the next one, in order (terraform prints in bursts of small chunks). `write` receives the bytes
 * and whether they start the log afresh. Each chunk's promise settles with the write carrying it;
 * a failed write does not stop the next one.
 */
export function coalescingSink(write: (body: Buffer, reset: boolean) => Promise<unknown>): LiveLogSink {
  let chain: Promise<unknown> = Promise.resolve();
  let buffered: Buffer[] = [];
  let reset = false;
  let scheduled = false;
  const send = (): Promise<unknown> => {
    const body = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
    const isReset = reset;
    buffered = [];
    reset = false;
    scheduled = false;
    return write(body, isReset);
  };
  const schedule = (): Promise<unknown> => {
    if (!scheduled) {
      scheduled = true;
      chain = chain.then(send, send);
    }
    return chain;
  };
  return {
    reset(first) {
      buffered = [first];
      reset = true;
      return schedule();
    },
    append(chunk) {
      buffered.push(chunk);
      return schedule();
    },
  };
}

export const STX = 0x02;
export const ETX = 0x03;

/** Stays below the gateway's upload cap with room for the ETX and the truncation note. */
export const MAX_LOG_BYTES = 90 * 1024 * 1024;

export interface PhaseLogOptions {
  sink: LiveLogSink;
  onError: (err: Error) => void;
}

/**
 * A phase's log: readable while it grows (each chunk APPENDed to the live Redis key, so the
 * gateway's log-read-url serves it within a round trip), and kept in memory for the final,
 * durable upload that ends with ETX. Appends go out in order over one connection; a failed
 * append loses only the live view, never the durable log.
 */
export class PhaseLog {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;
  private pending: Promise<unknown> = Promise.resolve();
  constructor(private readonly opts: PhaseLogOptions) {}

  /**
   * Resets the live key (a re-run phase starts a fresh log) and writes STX. Like every live
   * write it is best effort: Redis away (a failover, an outage) costs the live view, never the
   * phase, whose durable log is the uploaded one.
   */
  async open(): Promise<void> {
    const stx = Buffer.from([STX]);
    this.chunks.push(stx);
    this.size = 1;
    this.pending = this.opts.sink
      .reset(stx)
      .catch((err: Error) => this.opts.onError(err));
    await this.pending;
  }

  write(chunk: Buffer | string): void {
    let data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.truncated || data.length === 0) return;
    if (this.size + data.length > MAX_LOG_BYTES) {
      data = Buffer.concat([data.subarray(0, Math.max(0, MAX_LOG_BYTES - this.size)), Buffer.from("\n[log truncated: too large]\n")]);
      this.truncated = true;
    }
    this.chunks.push(data);
    this.size += data.length;
    this.pending = this.opts.sink
      .append(data)
      .catch((err: Error) => this.opts.onError(err));
  }

  /** Waits for every live append to reach the store. */
  async flush(): Promise<void> {
    await this.pending;
  }

  /** The whole log, STX … ETX, for the durable upload. */
  finalBytes(): Buffer {
    return Buffer.concat([...this.chunks, Buffer.from([ETX])]);
  }
}

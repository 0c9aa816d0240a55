/**
 * At most `size` configuration uploads are read, inspected and stored at once per gateway
 * process; the rest wait their turn in arrival order. Each holds its whole archive in memory
 * (up to TARMAC_MAX_ARCHIVE_BYTES) and storing it costs several copies inside Prisma, so this
 * bounds the process's memory, and keeps one upload's storage from starving another's
 * inspection deadline.
 */
export interface UploadSlots {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createUploadSlots(requested: number): UploadSlots {
  const size = Math.max(1, requested);
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < size) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}

// The web UI's Server-Sent Events, read as a browser's EventSource would.

export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Reads a stream's events until `until` says enough (or the stream ends), then hangs up. */
export async function readSse(
  gatewayUrl: string,
  path: string,
  token: string,
  until: (events: SseEvent[]) => boolean,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; events: SseEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const res = await fetch(`${gatewayUrl}/api/v2${path}`, { headers: { Authorization: `Bearer ${token}`, ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  if (res.status !== 200 || !res.body) {
    clearTimeout(timer);
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status, type: res.headers.get("content-type"), events };
  }
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const record = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields: Record<string, string> = {};
        for (const line of record.split("\n")) {
          const m = /^([a-z]+): ?(.*)$/.exec(line);
          if (m) fields[m[1]!] = m[2]!;
        }
        if (fields.event) events.push({ event: fields.event, ...(fields.id !== undefined ? { id: fields.id } : {}), data: JSON.parse(fields.data ?? "null") });
      }
      if (until(events)) break;
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: res.status, type: res.headers.get("content-type"), events };
}

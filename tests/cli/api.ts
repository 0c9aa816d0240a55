import { httpsRequest } from "@tarmac/testing";

export interface TlsApiResponse {
  status: number;
  body: any;
  text: string;
}

/** The TFE API over HTTPS, trusting the stack's CA (Node's fetch takes no per-call CA). */
export class TlsApi {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
    private readonly ca: Buffer,
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<TlsApiResponse> {
        // Paths under /api, capability URLs (/_archivist…) and discovery go as given; the rest is under /api/v2.
    const prefix = /^\/(api|_|\.)/.test(path) ? "" : "/api/v2";
    const res = await httpsRequest(`${this.baseUrl}${prefix}${path}`, {
      ca: this.ca,
      method,
      headers: {
        Accept: "application/vnd.api+json",
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { "Content-Type": "application/vnd.api+json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    let parsed: unknown;
    try {
      parsed = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text: res.text };
  }

  get(path: string) {
    return this.request("GET", path);
  }
  post(path: string, body?: unknown) {
    return this.request("POST", path, body);
  }
  patch(path: string, body?: unknown) {
    return this.request("PATCH", path, body);
  }
  delete(path: string) {
    return this.request("DELETE", path);
  }
}

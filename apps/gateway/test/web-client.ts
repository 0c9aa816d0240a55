import { createHash, randomUUID } from "node:crypto";

/**
 * A browser's part of the web sign-in, over plain fetch: a cookie jar, redirects not followed
 * (tests assert on them), form posts. Real HTTP against the started gateway.
 */
export interface SetCookie {
  name: string;
  value: string;
  /** Attributes as sent, lower-cased names: httponly, samesite, path, secure, expires, max-age. */
  attrs: Map<string, string>;
}

export function parseSetCookies(headers: Headers): SetCookie[] {
  return headers.getSetCookie().map((line) => {
    const [pair, ...rest] = line.split(";");
    const eq = pair!.indexOf("=");
    const attrs = new Map<string, string>();
    for (const a of rest) {
      const i = a.indexOf("=");
      const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
      attrs.set(k, i < 0 ? "" : a.slice(i + 1).trim());
    }
    return { name: pair!.slice(0, eq).trim(), value: decodeURIComponent(pair!.slice(eq + 1).trim()), attrs };
  });
}

export interface WebResponse {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
  cookies: SetCookie[];
}

export class WebClient {
  readonly jar = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async request(method: string, path: string, opts: { form?: Record<string, string>; headers?: Record<string, string>; json?: unknown } = {}): Promise<WebResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.jar.size > 0) headers.Cookie = this.cookieHeader();
    let body: string | undefined;
    if (opts.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(opts.form).toString();
    } else if (opts.json !== undefined) {
      headers["Content-Type"] = "application/vnd.api+json";
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(path.startsWith("http") ? path : `${this.baseUrl}${path}`, { method, headers, body, redirect: "manual" });
    const cookies = parseSetCookies(res.headers);
    for (const c of cookies) {
      const expired = c.attrs.get("max-age") === "0" || (c.attrs.has("expires") && new Date(c.attrs.get("expires")!) <= new Date());
      if (expired || c.value === "") this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    return { status: res.status, location: res.headers.get("location"), text: await res.text(), headers: res.headers, cookies };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request("GET", path, { headers });
  }

  post(path: string, form: Record<string, string>) {
    return this.request("POST", path, { form });
  }

  /** The sign-in form's hidden CSRF token (the pre-session cookie lands in the jar). */
  async loginForm(next = "/app/"): Promise<string> {
    const page = await this.get(`/app/login?next=${encodeURIComponent(next)}`);
    if (page.status !== 200) throw new Error(`login form: ${page.status} ${page.text}`);
    return hiddenValue(page.text, "csrf");
  }

  async signIn(username: string, password: string, next = "/app/"): Promise<WebResponse> {
    const csrf = await this.loginForm(next);
    return this.post("/app/login", { csrf, next, username, password });
  }
}

export function hiddenValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name} in ${html.slice(0, 400)}`);
  return m[1]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

/** terraform's PKCE pair (login.go proofKey): a UUID, a dot, nine digits; and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = `${randomUUID()}.${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

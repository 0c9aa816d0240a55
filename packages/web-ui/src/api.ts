// The only way the UI reaches Tarmac: the JSON:API under /api/v2, same origin. Signed-in browsers
// carry the session cookie (credentials: "same-origin"); unsafe methods repeat the readable
// `tarmac_csrf` cookie in X-CSRF-Token. A 401 sends the browser to sign in.

export interface Resource<A = Record<string, any>> {
  id: string;
  type: string;
  attributes: A;
  relationships?: Record<string, { data?: { id: string; type: string } | { id: string; type: string }[] | null; links?: Record<string, string> }>;
  links?: Record<string, string>;
}

export interface Doc<T = Resource> {
  data: T;
  included?: Resource[];
  meta?: { pagination?: { "current-page": number; "total-pages": number; "total-count": number; "next-page": number | null; "prev-page": number | null } };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UNSAFE = new Set(["POST", "PATCH", "PUT", "DELETE"]);

export function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

export function loginUrl(): string {
  return `/app/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function errorMessage(status: number, body: any): string {
  const errors = body?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors.map((e: any) => [e.title, e.detail].filter(Boolean).join(": ")).join("; ");
  }
  return status === 404 ? "not found" : `request failed (${status})`;
}

/** One JSON:API request; resolves to the parsed document (null for 204), throws ApiError otherwise. */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/vnd.api+json", "Content-Type": "application/vnd.api+json" };
  if (UNSAFE.has(method)) {
    const csrf = cookie("tarmac_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  const res = await fetch(`/api/v2${path}`, {
    method,
    headers,
    credentials: "same-origin",
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401) {
    // Never from the sign-in path itself: without a server-rendered sign-in page that would loop.
    if (!location.pathname.startsWith("/app/login")) location.assign(loginUrl());
    throw new ApiError(401, "You are not signed in.");
  }
  if (res.status === 204) return null as T;
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) throw new ApiError(res.status, errorMessage(res.status, parsed));
  return parsed as T;
}

export const get = <T = any>(path: string) => api<T>("GET", path);

export function included(doc: Doc<any>, type: string, id: string | undefined): Resource | undefined {
  if (!id) return undefined;
  return doc.included?.find((r) => r.type === type && r.id === id);
}

export function relId(r: Resource, name: string): string | undefined {
  const d = r.relationships?.[name]?.data;
  return d && !Array.isArray(d) ? d.id : undefined;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError, cookie, type Resource } from "./api";
import { Link } from "./router";

export const AccountContext = createContext<Resource | null>(null);
export const useAccount = () => useContext(AccountContext);

/** Loads something from the API; `reload` re-runs it without clearing what is shown. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: ApiError | Error | undefined; reload: () => void; loading: boolean } {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (error: Error) => mine === seq.current && setState({ error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(run, [run]);
  return { data: state.data, error: state.error, reload: run, loading: state.loading };
}

export function ErrorView({ error }: { error: Error }) {
  if (error instanceof ApiError && error.status === 404) {
    return (
      <section className="notice" role="alert">
        <h1>Not found</h1>
        <p>It does not exist, or you do not have access to it.</p>
        <p>
          <Link to="/app/organizations">Organizations</Link>
        </p>
      </section>
    );
  }
  return (
    <p className="error" role="alert">
      {error.message}
    </p>
  );
}

export function Loading() {
  return <p className="muted" aria-live="polite">Loading…</p>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status.replace(/_/g, " ")}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={d.toISOString()}>
      {d.toLocaleString()}
    </time>
  );
}

export function Header() {
  const account = useAccount();
  return (
    <header className="topbar">
      <Link to="/app/organizations" className="brand">
        Tarmac
      </Link>
      <nav aria-label="Main">
        <Link to="/app/organizations">Organizations</Link>
        <Link to="/app/settings/tokens">Tokens</Link>
      </nav>
      <div className="account">
        {account ? <span className="username">{String(account.attributes.username ?? "")}</span> : null}
        <form method="post" action="/app/logout">
          <input type="hidden" name="csrf" value={cookie("tarmac_csrf") ?? ""} />
          <button type="submit" className="link-button">
            Sign out
          </button>
        </form>
      </div>
    </header>
  );
}

export function Breadcrumbs({ items }: { items: [string, string | null][] }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumbs">
      {items.map(([label, to], i) => (
        <span key={i}>
          {i > 0 ? <span aria-hidden="true"> / </span> : null}
          {to ? <Link to={to}>{label}</Link> : <span aria-current="page">{label}</span>}
        </span>
      ))}
    </nav>
  );
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card" aria-labelledby={`h-${title.replace(/\W+/g, "-")}`}>
      <div className="card-head">
        <h2 id={`h-${title.replace(/\W+/g, "-")}`}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** EventSource on one of the gateway's live streams; reconnects itself (Last-Event-ID). */
export function useEventStream(url: string | null, handlers: Record<string, (data: any, id: string) => void>): void {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url, { withCredentials: true });
    const names = ["run", "log", "end", "workspace"];
    const listeners = names.map((name) => {
      const listener = (e: MessageEvent) => {
        if (name === "end") source.close();
        ref.current[name]?.(JSON.parse(String(e.data)), e.lastEventId);
      };
      source.addEventListener(name, listener);
      return listener;
    });
    return () => {
      names.forEach((n, i) => source.removeEventListener(n, listeners[i]!));
      source.close();
    };
  }, [url]);
}

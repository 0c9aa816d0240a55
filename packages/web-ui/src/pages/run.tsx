import { useEffect, useRef, useState } from "react";
import { api, ApiError, get, included, relId, type Doc, type Resource } from "../api";
import { AnsiText } from "../ansi-text";
import { Breadcrumbs, ErrorView, Loading, Section, StatusBadge, Time, useEventStream, useLoad } from "../common";

type Phase = "plan" | "apply";

interface ResourceChange {
  address: string;
  actions: string[];
}

/** The JSON plan's resource changes: the full plan for workspace admins, else the redacted one. */
async function loadResourceChanges(planId: string): Promise<ResourceChange[] | "pending" | "unavailable"> {
  let doc: any;
  try {
    doc = await get(`/plans/${planId}/json-output`);
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 403)) throw err;
    try {
      doc = await get(`/plans/${planId}/json-output-redacted`);
    } catch (err2) {
      if (err2 instanceof ApiError && (err2.status === 404 || err2.status === 422 || err2.status === 403)) return "unavailable";
      throw err2;
    }
  }
  if (doc === null) return "pending";
  const changes: any[] = Array.isArray(doc?.resource_changes) ? doc.resource_changes : [];
  return changes
    .map((c) => ({ address: String(c.address ?? ""), actions: Array.isArray(c.change?.actions) ? c.change.actions.map(String) : [] }))
    .filter((c) => !(c.actions.length === 1 && c.actions[0] === "no-op") && !(c.actions.length === 1 && c.actions[0] === "read"));
}

function actionLabel(actions: string[]): string {
  const a = actions.join(",");
  if (a === "create") return "create";
  if (a === "update") return "update";
  if (a === "delete") return "destroy";
  if (a === "delete,create" || a === "create,delete") return "replace";
  return a || "unknown";
}

function Timeline({ timestamps }: { timestamps: Record<string, string> }) {
  const entries = Object.entries(timestamps ?? {}).sort((a, b) => a[1].localeCompare(b[1]));
  if (entries.length === 0) return <p className="muted">No status changes yet.</p>;
  return (
    <ol className="timeline">
      {entries.map(([k, v]) => (
        <li key={k}>
          <span className="timeline-status">{k.replace(/-at$/, "").replace(/[-_]/g, " ")}</span> <Time iso={v} />
        </li>
      ))}
    </ol>
  );
}

function LogView({ phase, text, status }: { phase: Phase; text: string; status: string | undefined }) {
  const ref = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <Section title={phase === "plan" ? "Plan log" : "Apply log"} actions={status ? <StatusBadge status={status} /> : null}>
      {text ? (
        <pre
          ref={ref}
          className="log"
          data-testid={`${phase}-log`}
          tabIndex={0}
          aria-label={`${phase} log`}
          aria-live="polite"
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          <AnsiText text={text} />
        </pre>
      ) : (
        <p className="muted" data-testid={`${phase}-log-empty`}>
          {status === "pending" || !status ? "Not started." : "No output yet."}
        </p>
      )}
    </Section>
  );
}

function Comments({ runId, version }: { runId: string; version: number }) {
  const { data, error, reload } = useLoad(() => get<Doc<Resource[]>>(`/runs/${runId}/comments?page[size]=100`), [runId, version]);
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    setFailure(null);
    try {
      await api("POST", `/runs/${runId}/comments`, { data: { type: "comments", attributes: { body } } });
      setBody("");
      reload();
    } catch (err) {
      setFailure((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Comments">
      {error ? <ErrorView error={error} /> : null}
      <ul className="comments" data-testid="comments">
        {(data?.data ?? []).map((c) => (
          <li key={c.id}>
            <p>{String(c.attributes.body ?? "")}</p>
            {c.attributes["created-at"] ? (
              <small className="muted">
                <Time iso={c.attributes["created-at"]} />
              </small>
            ) : null}
          </li>
        ))}
        {data && data.data.length === 0 ? <li className="muted">No comments.</li> : null}
      </ul>
      <form onSubmit={submit} className="stack">
        <label htmlFor="comment-body">Add a comment</label>
        <textarea id="comment-body" value={body} onChange={(e) => setBody(e.target.value)} rows={2} />
        {failure ? <p className="error" role="alert">{failure}</p> : null}
        <div>
          <button type="submit" disabled={busy || !body.trim()}>
            Comment
          </button>
        </div>
      </form>
    </Section>
  );
}

function Actions({ run, onDone }: { run: Resource; onDone: () => void }) {
  const a = run.attributes;
  const actions = a.actions ?? {};
  const perms = a.permissions ?? {};
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [, tick] = useState(0);
  const forceAt = a["force-cancel-available-at"] ? Date.parse(a["force-cancel-available-at"]) : null;
  // Re-read the run when the force-cancel cool-off ends, so the button appears on time.
  useEffect(() => {
    if (forceAt === null || forceAt <= Date.now()) return;
    const t = setTimeout(() => {
      tick((n) => n + 1);
      onDone();
    }, forceAt - Date.now() + 250);
    return () => clearTimeout(t);
  }, [forceAt, onDone]);
  const allowed: [string, string, boolean][] = [
    ["apply", "Confirm & apply", Boolean(actions["is-confirmable"] && perms["can-apply"])],
    ["discard", "Discard run", Boolean(actions["is-discardable"] && perms["can-discard"])],
    ["cancel", "Cancel run", Boolean(actions["is-cancelable"] && perms["can-cancel"])],
    ["force-cancel", "Force cancel", Boolean(actions["is-force-cancelable"] && perms["can-force-cancel"] && (forceAt === null || forceAt <= Date.now()))],
    ["force-execute", "Run now (force execute)", Boolean(perms["can-force-execute"] && a.status === "pending")],
  ];
  const shown = allowed.filter(([, , ok]) => ok);
  if (shown.length === 0) return null;
  const act = async (action: string) => {
    setBusy(action);
    setFailure(null);
    try {
      await api("POST", `/runs/${run.id}/actions/${action}`, action === "force-execute" || !comment.trim() ? undefined : { comment });
      setComment("");
      onDone();
    } catch (err) {
      setFailure((err as Error).message);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Section title="Actions">
      <div className="stack" data-testid="run-actions">
        <label htmlFor="action-comment">Comment (optional)</label>
        <textarea id="action-comment" rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
        <div className="button-row">
          {shown.map(([action, label]) => (
            <button
              key={action}
              type="button"
              className={action === "apply" ? "primary" : action.includes("cancel") || action === "discard" ? "danger" : ""}
              disabled={busy !== null}
              onClick={() => act(action)}
            >
              {busy === action ? "…" : label}
            </button>
          ))}
        </div>
        {failure ? <p className="error" role="alert">{failure}</p> : null}
      </div>
    </Section>
  );
}

export function RunPage({ org, workspace, runId }: { org: string; workspace: string; runId: string }) {
  const [version, setVersion] = useState(0);
  const { data, error, reload } = useLoad(
    () => get<Doc<Resource>>(`/runs/${encodeURIComponent(runId)}?include=plan,apply,created_by,workspace`),
    [runId, version],
  );
  const [logs, setLogs] = useState<Record<Phase, string>>({ plan: "", apply: "" });
  const offsets = useRef<Record<Phase, number>>({ plan: 0, apply: 0 });
  const [changes, setChanges] = useState<ResourceChange[] | "pending" | "unavailable" | null>(null);
  const [live, setLive] = useState(true);

  useEventStream(error ? null : `/api/v2/runs/${encodeURIComponent(runId)}/events-stream`, {
    run: () => setVersion((v) => v + 1),
    log: (d: { phase: Phase; offset: number; text: string }) => {
      // Events repeat after a reconnect without Last-Event-ID: keep only bytes past what is shown.
      if (d.offset !== offsets.current[d.phase]) return;
      offsets.current[d.phase] += new TextEncoder().encode(d.text).length;
      setLogs((l) => ({ ...l, [d.phase]: l[d.phase] + d.text }));
    },
    end: () => {
      setLive(false);
      setVersion((v) => v + 1);
    },
  });

  const run = data?.data;
  const plan = data && run ? included(data, "plans", relId(run, "plan")) : undefined;
  const apply = data && run ? included(data, "applies", relId(run, "apply")) : undefined;
  const ws = data && run ? included(data, "workspaces", relId(run, "workspace")) : undefined;
  const user = data && run ? included(data, "users", relId(run, "created-by")) : undefined;
  const planStatus = plan?.attributes.status as string | undefined;

  useEffect(() => {
    if (!plan || planStatus !== "finished") {
      setChanges(planStatus && planStatus !== "finished" ? "pending" : null);
      return;
    }
    let stale = false;
    loadResourceChanges(plan.id).then(
      (c) => !stale && setChanges(c),
      () => !stale && setChanges("unavailable"),
    );
    return () => {
      stale = true;
    };
  }, [plan?.id, planStatus]);

  if (error) return <ErrorView error={error} />;
  if (!data || !run) return <Loading />;
  // The path names the workspace: a run of another workspace is not this page's run.
  const wsOrg = ws ? relId(ws, "organization") : undefined;
  if (ws && (String(ws.attributes.name) !== workspace || (wsOrg !== undefined && wsOrg !== org))) return <ErrorView error={new ApiError(404, "not found")} />;
  const a = run.attributes;
  const p = plan?.attributes ?? {};
  return (
    <div className="page">
      <Breadcrumbs
        items={[
          [org, `/app/${encodeURIComponent(org)}/workspaces`],
          [workspace, `/app/${encodeURIComponent(org)}/${encodeURIComponent(workspace)}`],
          [run.id, null],
        ]}
      />
      <div className="title-row">
        <h1>{a.message ? String(a.message) : "Run"}</h1>
        <span data-testid="run-status">
          <StatusBadge status={String(a.status)} />
        </span>
        {live ? <span className="live" title="Updates live">● live</span> : null}
      </div>
      <dl className="facts">
        <dt>Run</dt>
        <dd>
          <code>{run.id}</code>
        </dd>
        <dt>Started by</dt>
        <dd>{user ? String(user.attributes.username) : relId(run, "created-by") ? "a user" : "Tarmac"}</dd>
        <dt>Source</dt>
        <dd>{String(a.source ?? "—")}</dd>
        <dt>Trigger</dt>
        <dd>{String(a["trigger-reason"] ?? "—")}</dd>
        <dt>Created</dt>
        <dd>
          <Time iso={a["created-at"]} />
        </dd>
        <dt>Kind</dt>
        <dd>{a["plan-only"] ? "plan only" : a["is-destroy"] ? "destroy" : a["refresh-only"] ? "refresh only" : "plan and apply"}</dd>
      </dl>
      <Actions run={run} onDone={reload} />
      <div className="grid-2">
        <Section title="Plan">
          <p className="counts" data-testid="plan-counts">
            <span className="add">+{Number(p["resource-additions"] ?? 0)} to add</span>{" "}
            <span className="change">~{Number(p["resource-changes"] ?? 0)} to change</span>{" "}
            <span className="destroy">-{Number(p["resource-destructions"] ?? 0)} to destroy</span>
          </p>
          {changes === "pending" ? <p className="muted">Resource changes appear when the plan has finished.</p> : null}
          {changes === "unavailable" ? <p className="muted">The JSON plan is not available.</p> : null}
          {Array.isArray(changes) ? (
            changes.length === 0 ? (
              <p className="muted">No resource changes.</p>
            ) : (
              <ul className="changes" data-testid="resource-changes">
                {changes.map((c) => (
                  <li key={c.address + c.actions.join()}>
                    <span className={`chip chip-${actionLabel(c.actions)}`}>{actionLabel(c.actions)}</span> <code>{c.address}</code>
                  </li>
                ))}
              </ul>
            )
          ) : null}
        </Section>
        <Section title="Timeline">
          <Timeline timestamps={a["status-timestamps"]} />
        </Section>
      </div>
      <LogView phase="plan" text={logs.plan} status={planStatus} />
      {!a["plan-only"] ? <LogView phase="apply" text={logs.apply} status={apply?.attributes.status as string | undefined} /> : null}
      <Comments runId={run.id} version={version} />
    </div>
  );
}

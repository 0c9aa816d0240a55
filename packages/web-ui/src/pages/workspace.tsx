import { useEffect, useState } from "react";
import { api, ApiError, get, relId, type Doc, type Resource } from "../api";
import { Breadcrumbs, ErrorView, Loading, Section, StatusBadge, Time, useEventStream, useLoad } from "../common";
import { Link } from "../router";

const perm = (ws: Resource, key: string) => Boolean(ws.attributes.permissions?.[key]);

function Runs({ org, ws, version }: { org: string; ws: Resource; version: number }) {
  const { data, error } = useLoad(() => get<Doc<Resource[]>>(`/workspaces/${ws.id}/runs?page[size]=20&include=created_by`), [ws.id, version]);
  const base = `/app/${encodeURIComponent(org)}/${encodeURIComponent(String(ws.attributes.name))}/runs/`;
  return (
    <Section title="Runs">
      {error ? <ErrorView error={error} /> : null}
      {!data && !error ? <Loading /> : null}
      {data && data.data.length === 0 ? <p className="muted">No runs yet.</p> : null}
      {data && data.data.length > 0 ? (
        <table className="table" data-testid="runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col" className="hide-narrow">
                Started by
              </th>
              <th scope="col" className="hide-narrow">
                Created
              </th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((r) => {
              const user = data.included?.find((u) => u.type === "users" && u.id === relId(r, "created-by"));
              return (
                <tr key={r.id} data-run-id={r.id}>
                  <td>
                    <Link to={base + r.id}>{String(r.attributes.message || r.id)}</Link>
                    <div className="muted small">
                      <code>{r.id}</code>
                    </div>
                  </td>
                  <td>
                    <StatusBadge status={String(r.attributes.status)} />
                  </td>
                  <td className="hide-narrow">{user ? String(user.attributes.username) : "—"}</td>
                  <td className="hide-narrow">
                    <Time iso={r.attributes["created-at"]} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function Lock({ ws, onChange }: { ws: Resource; onChange: () => void }) {
  const locked = Boolean(ws.attributes.locked);
  const [reason, setReason] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const act = async (action: "lock" | "unlock" | "force-unlock") => {
    setFailure(null);
    try {
      await api("POST", `/workspaces/${ws.id}/actions/${action}`, action === "lock" ? { reason } : undefined);
      setReason("");
      onChange();
    } catch (err) {
      setFailure((err as Error).message);
    }
  };
  return (
    <Section title="Lock">
      <p data-testid="lock-state">
        {locked ? "Locked" : "Unlocked"}
        {locked && ws.attributes["locked-reason"] ? <span className="muted"> — {String(ws.attributes["locked-reason"])}</span> : null}
      </p>
      <div className="button-row">
        {!locked && perm(ws, "can-lock") ? (
          <>
            <label htmlFor="lock-reason" className="sr-only">
              Reason
            </label>
            <input id="lock-reason" placeholder="Reason (optional)" value={reason} onChange={(e) => setReason(e.target.value)} />
            <button type="button" onClick={() => act("lock")}>
              Lock
            </button>
          </>
        ) : null}
        {locked && perm(ws, "can-unlock") ? (
          <button type="button" onClick={() => act("unlock")}>
            Unlock
          </button>
        ) : null}
        {locked && perm(ws, "can-force-unlock") ? (
          <button type="button" className="danger" onClick={() => act("force-unlock")}>
            Force unlock
          </button>
        ) : null}
      </div>
      {failure ? <p className="error" role="alert">{failure}</p> : null}
    </Section>
  );
}

function Variables({ ws }: { ws: Resource }) {
  const { data, error } = useLoad(() => get<Doc<Resource[]>>(`/workspaces/${ws.id}/vars`), [ws.id]);
  if (error instanceof ApiError && error.status === 404) return null;
  return (
    <Section title="Variables">
      {error ? <ErrorView error={error} /> : null}
      {data && data.data.length === 0 ? <p className="muted">No variables.</p> : null}
      {data && data.data.length > 0 ? (
        <table className="table" data-testid="variables">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col" className="hide-narrow">
                Category
              </th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((v) => (
              <tr key={v.id}>
                <td>
                  <code>{String(v.attributes.key)}</code>
                </td>
                <td>{v.attributes.sensitive ? <span className="masked">Sensitive — write only</span> : <code className="value">{String(v.attributes.value ?? "")}</code>}</td>
                <td className="hide-narrow">
                  {String(v.attributes.category)}
                  {v.attributes.hcl ? " (HCL)" : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function State({ ws, version }: { ws: Resource; version: number }) {
  const sv = useLoad(async () => {
    try {
      return await get<Doc<Resource>>(`/workspaces/${ws.id}/current-state-version`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }, [ws.id, version]);
  const outputs = useLoad(async () => {
    try {
      return await get<Doc<Resource[]>>(`/workspaces/${ws.id}/current-state-version-outputs`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }, [ws.id, version]);
  return (
    <Section title="State">
      {sv.error ? <ErrorView error={sv.error} /> : null}
      {sv.data === null ? <p className="muted">No state yet.</p> : null}
      {sv.data ? (
        <p data-testid="state-version">
          Serial {String(sv.data.data.attributes.serial)} · <code>{sv.data.data.id}</code> · <Time iso={sv.data.data.attributes["created-at"]} />
        </p>
      ) : null}
      {outputs.data && outputs.data.data.length > 0 ? (
        <table className="table" data-testid="outputs">
          <thead>
            <tr>
              <th scope="col">Output</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {outputs.data.data.map((o) => (
              <tr key={o.id}>
                <td>
                  <code>{String(o.attributes.name)}</code>
                </td>
                <td>{o.attributes.sensitive ? <span className="masked">Sensitive</span> : <code className="value">{JSON.stringify(o.attributes.value)}</code>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function Settings({ org, ws, onSaved }: { org: string; ws: Resource; onSaved: () => void }) {
  const a = ws.attributes;
  const editable = perm(ws, "can-update");
  const [form, setForm] = useState({
    "auto-apply": Boolean(a["auto-apply"]),
    "execution-mode": String(a["execution-mode"] ?? "remote"),
    "terraform-version": String(a["terraform-version"] ?? ""),
    "working-directory": String(a["working-directory"] ?? ""),
    tags: ((a["tag-names"] as string[] | undefined) ?? []).join(", "),
    project: relId(ws, "project") ?? "",
  });
  const projects = useLoad(() => get<Doc<Resource[]>>(`/organizations/${encodeURIComponent(org)}/projects?page[size]=100`).catch(() => null), [org]);
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setMessage(null);
    setFailure(null);
    try {
      const relationships = form.project ? { project: { data: { type: "projects", id: form.project } } } : undefined;
      await api("PATCH", `/workspaces/${ws.id}`, {
        data: {
          type: "workspaces",
          attributes: {
            "auto-apply": form["auto-apply"],
            "execution-mode": form["execution-mode"],
            "terraform-version": form["terraform-version"],
            "working-directory": form["working-directory"],
          },
          ...(relationships ? { relationships } : {}),
        },
      });
      const wanted = form.tags.split(",").map((t) => t.trim()).filter(Boolean);
      const current = (a["tag-names"] as string[] | undefined) ?? [];
      const add = wanted.filter((t) => !current.includes(t));
      const remove = current.filter((t) => !wanted.includes(t));
      if (add.length > 0) await api("POST", `/workspaces/${ws.id}/relationships/tags`, { data: add.map((name) => ({ type: "tags", attributes: { name } })) });
      if (remove.length > 0) await api("DELETE", `/workspaces/${ws.id}/relationships/tags`, { data: remove.map((name) => ({ type: "tags", attributes: { name } })) });
      setMessage("Saved.");
      onSaved();
    } catch (err) {
      setFailure((err as Error).message);
    }
  };
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setForm((f) => ({ ...f, [k]: e.target instanceof HTMLInputElement && e.target.type === "checkbox" ? e.target.checked : e.target.value }));
  return (
    <Section title="Settings">
      <form onSubmit={save} className="settings">
        <fieldset disabled={!editable}>
          <label className="check">
            <input type="checkbox" checked={form["auto-apply"]} onChange={set("auto-apply")} /> Auto-apply
          </label>
          <label htmlFor="ws-execution-mode">Execution mode</label>
          <select id="ws-execution-mode" value={form["execution-mode"]} onChange={set("execution-mode")}>
            <option value="remote">remote</option>
            <option value="local">local</option>
            <option value="agent">agent</option>
          </select>
          <label htmlFor="ws-terraform-version">Terraform version</label>
          <input id="ws-terraform-version" value={form["terraform-version"]} onChange={set("terraform-version")} />
          <label htmlFor="ws-working-directory">Working directory</label>
          <input id="ws-working-directory" value={form["working-directory"]} onChange={set("working-directory")} />
          <label htmlFor="ws-tags">Tags (comma separated)</label>
          <input id="ws-tags" value={form.tags} onChange={set("tags")} />
          <label htmlFor="ws-project">Project</label>
          <select id="ws-project" value={form.project} onChange={set("project")}>
            {(projects.data?.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {String(p.attributes.name)}
              </option>
            ))}
            {form.project && !(projects.data?.data ?? []).some((p) => p.id === form.project) ? <option value={form.project}>{form.project}</option> : null}
          </select>
          {editable ? (
            <div>
              <button type="submit" className="primary">
                Save settings
              </button>
            </div>
          ) : (
            <p className="muted">You cannot change this workspace's settings.</p>
          )}
        </fieldset>
        {message ? <p role="status">{message}</p> : null}
        {failure ? <p className="error" role="alert">{failure}</p> : null}
      </form>
    </Section>
  );
}

export function WorkspacePage({ org, name }: { org: string; name: string }) {
  const [version, setVersion] = useState(0);
  const { data, error, reload } = useLoad(
    () => get<Doc<Resource>>(`/organizations/${encodeURIComponent(org)}/workspaces/${encodeURIComponent(name)}`),
    [org, name, version],
  );
  const ws = data?.data;
  useEventStream(ws ? `/api/v2/workspaces/${ws.id}/events-stream` : null, {
    workspace: () => setVersion((v) => v + 1),
  });
  if (error) return <ErrorView error={error} />;
  if (!ws) return <Loading />;
  return (
    <div className="page">
      <Breadcrumbs items={[[org, `/app/${encodeURIComponent(org)}/workspaces`], [name, null]]} />
      <div className="title-row">
        <h1>{name}</h1>
        {ws.attributes.locked ? <span className="chip">locked</span> : null}
        <span className="live" title="Updates live">
          ● live
        </span>
      </div>
      <p className="muted">
        <code>{ws.id}</code> · {String(ws.attributes["execution-mode"])} · Terraform {String(ws.attributes["terraform-version"] ?? "")}
      </p>
      <Runs org={org} ws={ws} version={version} />
      <div className="grid-2">
        <Lock ws={ws} onChange={reload} />
        <State ws={ws} version={version} />
      </div>
      <Variables ws={ws} />
      <Settings key={ws.id} org={org} ws={ws} onSaved={reload} />
    </div>
  );
}

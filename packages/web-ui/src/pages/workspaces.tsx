import { useEffect, useState } from "react";
import { get, query, type Doc, type Resource } from "../api";
import { Breadcrumbs, ErrorView, Loading, Section, StatusBadge, Time, useLoad } from "../common";
import { Link, navigate, useLocation } from "../router";

const PAGE_SIZE = 20;

export function WorkspacesPage({ org }: { org: string }) {
  const { search } = useLocation();
  const name = search.get("search") ?? "";
  const page = Number(search.get("page") ?? "1") || 1;
  const [draft, setDraft] = useState(name);
  useEffect(() => setDraft(name), [name]);
  const { data, error } = useLoad(
    () =>
      get<Doc<Resource[]>>(
        `/organizations/${encodeURIComponent(org)}/workspaces${query({ "search[name]": name, "page[number]": page, "page[size]": PAGE_SIZE, include: "current_run" })}`,
      ),
    [org, name, page],
  );
  const base = `/app/${encodeURIComponent(org)}/workspaces`;
  const to = (p: number, n = name) => `${base}${query({ search: n, page: p > 1 ? p : undefined })}`;
  const pagination = data?.meta?.pagination;
  return (
    <div className="page">
      <Breadcrumbs items={[[org, null]]} />
      <h1>Workspaces</h1>
      <form
        role="search"
        className="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(to(1, draft.trim()));
        }}
      >
        <label htmlFor="ws-search">Search by name</label>
        <input id="ws-search" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      {error ? <ErrorView error={error} /> : null}
      {!data && !error ? <Loading /> : null}
      {data ? (
        <Section title={pagination ? `${pagination["total-count"]} workspace${pagination["total-count"] === 1 ? "" : "s"}` : "Workspaces"}>
          {data.data.length === 0 ? (
            <p className="muted">No workspaces{name ? ` matching “${name}”` : ""}.</p>
          ) : (
            <table className="table" data-testid="workspaces">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Latest run</th>
                  <th scope="col" className="hide-narrow">
                    Terraform
                  </th>
                  <th scope="col" className="hide-narrow">
                    Updated
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((w) => {
                  const runId = (w.relationships?.["current-run"]?.data as { id: string } | null | undefined)?.id;
                  const run = runId ? data.included?.find((r) => r.type === "runs" && r.id === runId) : undefined;
                  return (
                    <tr key={w.id}>
                      <td>
                        <Link to={`/app/${encodeURIComponent(org)}/${encodeURIComponent(String(w.attributes.name))}`}>{String(w.attributes.name)}</Link>
                        {w.attributes.locked ? <span className="chip"> locked</span> : null}
                      </td>
                      <td>{run ? <StatusBadge status={String(run.attributes.status)} /> : <span className="muted">—</span>}</td>
                      <td className="hide-narrow">{String(w.attributes["terraform-version"] ?? "")}</td>
                      <td className="hide-narrow">
                        <Time iso={w.attributes["updated-at"]} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          {pagination && pagination["total-pages"] > 1 ? (
            <nav className="pager" aria-label="Pagination">
              {pagination["prev-page"] ? <Link to={to(pagination["prev-page"])}>← Previous</Link> : <span />}
              <span>
                Page {pagination["current-page"]} of {pagination["total-pages"]}
              </span>
              {pagination["next-page"] ? <Link to={to(pagination["next-page"])}>Next →</Link> : <span />}
            </nav>
          ) : null}
        </Section>
      ) : null}
    </div>
  );
}

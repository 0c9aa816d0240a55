import { get, type Doc, type Resource } from "../api";
import { ErrorView, Loading, Section, useLoad } from "../common";
import { Link } from "../router";

export function OrganizationsPage() {
  const { data, error } = useLoad(() => get<Doc<Resource[]>>("/organizations?page[size]=100"), []);
  if (error) return <ErrorView error={error} />;
  if (!data) return <Loading />;
  return (
    <div className="page">
      <h1>Organizations</h1>
      <Section title="Your organizations">
        {data.data.length === 0 ? (
          <p className="muted">You are not a member of any organization.</p>
        ) : (
          <ul className="list" data-testid="organizations">
            {data.data.map((o) => (
              <li key={o.id}>
                <Link to={`/app/${encodeURIComponent(o.id)}/workspaces`}>{String(o.attributes.name ?? o.id)}</Link>
                {o.attributes.email ? <span className="muted"> {String(o.attributes.email)}</span> : null}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}

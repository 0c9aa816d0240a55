import { useState } from "react";
import { api, get, type Doc, type Resource } from "../api";
import { ErrorView, Loading, Section, Time, useAccount, useLoad } from "../common";

export function TokensPage() {
  const account = useAccount();
  const userId = account?.id ?? "";
  const { data, error, reload } = useLoad(() => get<Doc<Resource[]>>(`/users/${encodeURIComponent(userId)}/authentication-tokens?page[size]=100`), [userId]);
  const [description, setDescription] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setFailure(null);
    try {
      const doc = await api<Doc<Resource>>("POST", `/users/${encodeURIComponent(userId)}/authentication-tokens`, {
        data: { type: "authentication-tokens", attributes: { description: description.trim() || null } },
      });
      setCreated(String(doc.data.attributes.token ?? ""));
      setCopied(false);
      setDescription("");
      reload();
    } catch (err) {
      setFailure((err as Error).message);
    }
  };
  const revoke = async (id: string) => {
    setFailure(null);
    try {
      await api("DELETE", `/authentication-tokens/${encodeURIComponent(id)}`);
      reload();
    } catch (err) {
      setFailure((err as Error).message);
    }
  };
  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created);
      setCopied(true);
    } catch {
      setFailure("Copying was refused by the browser: select the token and copy it.");
    }
  };
  return (
    <div className="page">
      <h1>API tokens</h1>
      <Section title="Create a token">
        <form onSubmit={create} className="stack">
          <label htmlFor="token-description">Description</label>
          <input id="token-description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <div>
            <button type="submit" className="primary">
              Create token
            </button>
          </div>
        </form>
        {created ? (
          <div className="new-token" role="status">
            <p>Copy this token now: it is shown only once.</p>
            <div className="button-row">
              <code data-testid="new-token">{created}</code>
              <button type="button" onClick={copy}>
                {copied ? "Copied" : "Copy"}
              </button>
              <button type="button" className="link-button" onClick={() => setCreated(null)}>
                Done
              </button>
            </div>
          </div>
        ) : null}
        {failure ? <p className="error" role="alert">{failure}</p> : null}
      </Section>
      <Section title="Your tokens">
        {error ? <ErrorView error={error} /> : null}
        {!data && !error ? <Loading /> : null}
        {data ? (
          data.data.length === 0 ? (
            <p className="muted">No tokens.</p>
          ) : (
            <table className="table" data-testid="tokens">
              <thead>
                <tr>
                  <th scope="col">Description</th>
                  <th scope="col" className="hide-narrow">
                    Created
                  </th>
                  <th scope="col" className="hide-narrow">
                    Last used
                  </th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((t) => (
                  <tr key={t.id}>
                    <td>{String(t.attributes.description ?? "") || <span className="muted">{t.id}</span>}</td>
                    <td className="hide-narrow">
                      <Time iso={t.attributes["created-at"]} />
                    </td>
                    <td className="hide-narrow">
                      <Time iso={t.attributes["last-used-at"]} />
                    </td>
                    <td>
                      <button type="button" className="danger" onClick={() => revoke(t.id)} aria-label={`Revoke ${String(t.attributes.description ?? t.id)}`}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        ) : null}
      </Section>
    </div>
  );
}

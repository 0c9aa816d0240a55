import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import "./styles.css";
import { ApiError, get, type Resource } from "./api";
import { AccountContext, ErrorView, Header, Loading } from "./common";
import { match, navigate, RouterProvider, useLocation } from "./router";
import { OrganizationsPage } from "./pages/organizations";
import { WorkspacesPage } from "./pages/workspaces";
import { WorkspacePage } from "./pages/workspace";
import { RunPage } from "./pages/run";
import { TokensPage } from "./pages/tokens";

function Routes() {
  const { path } = useLocation();
  let m: Record<string, string> | null;
  if (path === "/app" || path === "/app/") {
    navigate("/app/organizations", true);
    return null;
  }
  if (match("/app/organizations", path)) return <OrganizationsPage />;
  if (match("/app/settings/tokens", path)) return <TokensPage />;
  if ((m = match("/app/:org/workspaces", path))) return <WorkspacesPage org={m.org!} />;
  if ((m = match("/app/:org/:workspace/runs/:runId", path))) return <RunPage key={m.runId} org={m.org!} workspace={m.workspace!} runId={m.runId!} />;
  if ((m = match("/app/:org/:workspace", path))) return <WorkspacePage key={`${m.org}/${m.workspace}`} org={m.org!} name={m.workspace!} />;
  return <ErrorView error={new ApiError(404, "not found")} />;
}

function App() {
  const [account, setAccount] = useState<Resource | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    get<{ data: Resource }>("/account/details").then((d) => setAccount(d.data), setError);
  }, []);
  if (error) return <ErrorView error={error} />;
  if (!account) return <Loading />;
  return (
    <AccountContext.Provider value={account}>
      <Header />
      <main id="main">
        <Routes />
      </main>
    </AccountContext.Provider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <RouterProvider>
      <App />
    </RouterProvider>
  </StrictMode>,
);

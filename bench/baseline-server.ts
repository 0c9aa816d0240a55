/**
 * The benchmarks' baseline: the least an HTTP service on the same database can do. Express, a
 * pg pool the gateway's size, one indexed statement per request, the row back as JSON. No
 * authentication, no JSON:API document: the gap to the gateway is what the product costs.
 */
import express from "express";
import { Pool } from "pg";
import { newId } from "@tarmac/domain";

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
const app = express();
app.use(express.json({ type: () => true }));

app.get("/healthz", (_req, res) => void res.send("ok"));

app.get("/runs/:id", async (req, res) => {
  const { rows } = await pool.query("SELECT * FROM runs WHERE id = $1", [req.params.id]);
  if (rows.length === 0) res.status(404).json({ error: "not found" });
  else res.json(rows[0]);
});

// Not the baseline (that is the select by id); a reference for what a page of 20 costs bare.
app.get("/workspaces/:id/runs", async (req, res) => {
  const { rows } = await pool.query("SELECT * FROM runs WHERE workspace_id = $1 ORDER BY seq DESC LIMIT 20", [req.params.id]);
  res.json(rows);
});

app.post("/runs", async (req, res) => {
  const body = req.body as { organizationId: string; workspaceId: string; configurationVersionId: string };
  const { rows } = await pool.query(
    `INSERT INTO runs (id, organization_id, workspace_id, configuration_version_id, operation, terraform_version, updated_at)
     VALUES ($1, $2, $3, $4, 'plan_and_apply', '1.9.8', now()) RETURNING *`,
    [newId("run"), body.organizationId, body.workspaceId, body.configurationVersionId],
  );
  res.status(201).json(rows[0]);
});

const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === "object" && addr ? addr.port : ""}\n`);
});
process.on("SIGTERM", () => server.close(() => void pool.end().then(() => process.exit(0))));

import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express, { Router, type Express } from "express";
import { routeByFirstSegment } from "./segment-routing";

/** Routers shaped like the gateway's: literal first segments, one router whose first route is a parameter. */
function routers(): Router[] {
  const runs = Router();
  runs.get("/runs/:id", (req, res) => void res.send(`runs:get:${req.params.id}`));
  runs.post("/runs", (_req, res) => void res.send("runs:post"));
  // Falls through to the next router that has the same path.
  runs.get("/runs/:id/plan", (_req, _res, next) => next());
  const plans = Router();
  plans.get("/runs/:id/plan", (req, res) => void res.send(`plans:${req.params.id}`));
  plans.get("/plans/:id", (req, res) => void res.send(`plans:get:${req.params.id}`));
  const anything = Router();
  anything.get("/:kind/:id/anything", (req, res) => void res.send(`anything:${req.params.kind}`));
  const failing = Router();
  failing.get("/boom", () => {
    throw new Error("boom");
  });
  const workspaces = Router();
  workspaces.get(["/workspaces/:id", "/organizations/:org/workspaces/:name"], (_req, res) => void res.send("workspaces"));
  return [runs, plans, anything, failing, workspaces];
}

function app(mount: (router: Router, routers: Router[]) => void): Express {
  const a = express();
  a.use("/api/v2", (req, res, next) => {
    res.set("X-Base", req.baseUrl);
    next();
  });
  const inner = Router();
  mount(inner, routers());
  a.use("/api/v2", inner);
  a.use((req, res) => void res.status(404).send(`none:${req.originalUrl}:${req.baseUrl}`));
  a.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send(err.message));
  return a;
}

async function listen(a: Express): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = a.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("routing by first path segment", () => {
  const servers: Server[] = [];
  let plain: string;
  let segmented: string;

  beforeAll(async () => {
    const a = await listen(app((target, rs) => rs.forEach((r) => target.use(r))));
    const b = await listen(app((target, rs) => target.use(routeByFirstSegment(rs))));
    servers.push(a.server, b.server);
    plain = a.url;
    segmented = b.url;
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it.each([
    ["GET", "/api/v2/runs/run-1"],
    ["GET", "/api/v2/RUNS/run-1"],
    ["GET", "/api/v2/runs/run-1/"],
    ["GET", "/api/v2/runs/run-1?include=plan"],
    ["POST", "/api/v2/runs"],
    ["GET", "/api/v2/runs/run-1/plan"],
    ["GET", "/api/v2/plans/plan-1"],
    ["GET", "/api/v2/runs/run-1/anything"],
    ["GET", "/api/v2/plans/x/anything"],
    ["GET", "/api/v2/other/x/anything"],
    ["GET", "/api/v2/%72uns/run-1"],
    ["GET", "/api/v2/boom"],
    ["GET", "/api/v2/workspaces/ws-1"],
    ["GET", "/api/v2/organizations/acme/workspaces/w"],
    ["GET", "/api/v2/organizations/acme"],
    ["GET", "/api/v2/unknown"],
    ["GET", "/api/v2/"],
    ["GET", "/api/v2"],
    ["GET", "/api/v2//runs/run-1"],
    ["DELETE", "/api/v2/runs/run-1"],
  ])("%s %s answers as the routers mounted one by one", async (method, path) => {
    const [a, b] = await Promise.all([plain, segmented].map((base) => fetch(`${base}${path}`, { method })));
    expect({ status: b!.status, body: await b!.text(), base: b!.headers.get("x-base") }).toEqual({
      status: a!.status,
      body: await a!.text(),
      base: a!.headers.get("x-base"),
    });
  });

  it("enters only the routers that can match the first segment, in their order", async () => {
    const entered: string[] = [];
    /** The router, recording each time a request enters it. */
    const recorded = (name: string, setup: (r: Router) => void): Router => {
      const r = Router();
      setup(r);
      return Object.assign((req: express.Request, res: express.Response, next: express.NextFunction) => {
        entered.push(name);
        r(req, res, next);
      }, { stack: r.stack }) as unknown as Router;
    };
    const a = express();
    a.use(
      routeByFirstSegment([
        recorded("workspaces", (r) => r.get("/workspaces/:id", (_req, res) => void res.send("ws"))),
        recorded("middleware", (r) => r.use((_req, _res, next) => next())),
        recorded("param", (r) => r.get("/:kind/:id/anything", (_req, res) => void res.send("anything"))),
        recorded("runs-passing", (r) => r.get("/runs/:id", (_req, _res, next) => next())),
        recorded("organizations", (r) => r.get("/organizations/:name", (_req, res) => void res.send("org"))),
        recorded("runs", (r) => r.get("/runs/:id", (_req, res) => void res.send("run"))),
      ]),
    );
    const { server, url } = await listen(a);
    servers.push(server);
    expect(await (await fetch(`${url}/runs/run-1`)).text()).toBe("run");
    expect(entered).toEqual(["middleware", "param", "runs-passing", "runs"]);
    entered.length = 0;
    // A first segment no router names literally walks them all, as without the dispatch.
    expect((await fetch(`${url}/%77orkspaces/ws-1`)).status).toBe(404);
    expect(entered).toEqual(["workspaces", "middleware", "param", "runs-passing", "organizations", "runs"]);
  });
});

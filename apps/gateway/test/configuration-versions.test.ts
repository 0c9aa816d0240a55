import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { c as createTar, Header } from "tar";
import { REPO_ROOT, waitFor } from "@tarmac/testing";
import { createOrganization, createWorkspace, organizationToken, startDbFixturesEnv, teamToken, type DbFixturesEnv } from "./db-fixtures";

const MAX_ARCHIVE = 200_000;
const MAX_UNPACKED = 1_000_000;

let env: DbFixturesEnv;
let org: { id: string; name: string };
let ws: { id: string; name: string };

beforeAll(async () => {
  env = await startDbFixturesEnv({ TARMAC_MAX_ARCHIVE_BYTES: String(MAX_ARCHIVE), TARMAC_MAX_UNPACKED_BYTES: String(MAX_UNPACKED) });
  org = await createOrganization(env.db);
  ws = await createWorkspace(env.db, org.id);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

/** A real configuration archive, made by node-tar from files on disk (as go-slug would). */
async function realArchive(files: Record<string, string>): Promise<Buffer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "config-versions-"));
  try {
    for (const [name, body] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), body);
    }
    const chunks: Buffer[] = [];
    const stream = createTar({ gzip: true, cwd: dir, portable: true }, Object.keys(files));
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface RawEntry {
  path: string;
  type?: "File" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  body?: string;
  linkpath?: string;
}

/** A tar written header by header, so it can hold what no honest tool writes. */
function rawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const block = Buffer.alloc(512);
    new Header({
      path: e.path,
      type: e.type ?? "File",
      size: (e.type ?? "File") === "File" ? body.length : 0,
      mode: 0o644,
      mtime: new Date(0),
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    }).encode(block, 0);
    blocks.push(block);
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

async function createVersion(attributes: Record<string, unknown> = { "auto-queue-runs": false }, token = env.gateway.adminToken) {
  return env.admin.withToken(token).post(`/workspaces/${ws.id}/configuration-versions`, {
    data: { type: "configuration-versions", attributes },
  });
}

async function put(url: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "PUT", headers: { "Content-Type": "application/octet-stream", ...headers }, body });
  return { status: res.status, text: await res.text() };
}

describe("configuration versions", () => {
  it("creates a pending version whose upload URL appears only in the create response", async () => {
    const created = await createVersion({ "auto-queue-runs": false, speculative: true });
    expect(created.status).toBe(201);
    const cv = created.body.data;
    expect(cv.type).toBe("configuration-versions");
    expect(cv.id).toMatch(/^cv-/);
    expect(cv.attributes).toMatchObject({
      "auto-queue-runs": false,
      speculative: true,
      provisional: false,
      status: "pending",
      source: "tfe-api",
      error: null,
      "error-message": null,
      "changed-files": [],
    });
    expect(cv.attributes["upload-url"]).toMatch(new RegExp(`^${env.gateway.url}/_archivist/uploads/${cv.id}/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
    expect(cv.relationships["ingress-attributes"]).toEqual({ data: null, links: { related: `/api/v2/configuration-versions/${cv.id}/ingress-attributes` } });
    expect(cv.links).toEqual({ self: `/api/v2/configuration-versions/${cv.id}`, download: `/api/v2/configuration-versions/${cv.id}/download` });

    const read = await env.admin.get(`/configuration-versions/${cv.id}?include=ingress_attributes,run`);
    expect(read.status).toBe(200);
    // A pending version shows its upload URL to whoever may upload (HCP, and go-tfe's tests).
    // Each answer mints its own URL (its expiry is the clock's second), so compare where it leads.
    const uploadTarget = (url: string) => url.slice(0, url.lastIndexOf("/"));
    expect(read.body.data.attributes["upload-url"]).toMatch(new RegExp(`^${env.gateway.url}/_archivist/uploads/${cv.id}/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
    expect(uploadTarget(read.body.data.attributes["upload-url"])).toBe(uploadTarget(cv.attributes["upload-url"]));
    const listed = await env.admin.get(`/workspaces/${ws.id}/configuration-versions`);
    expect(listed.body.data.every((x: { attributes: object }) => !("upload-url" in x.attributes))).toBe(true);
  });

  it("defaults a body-less create to auto-queue-runs, not speculative, not provisional, and makes it the latest", async () => {
    const created = await env.admin.post(`/workspaces/${ws.id}/configuration-versions`);
    expect(created.status).toBe(201);
    expect(created.body.data.attributes).toMatchObject({ "auto-queue-runs": true, speculative: false, provisional: false });
    const row = await env.db.workspace.findUniqueOrThrow({ where: { id: ws.id } });
    expect(row.latestConfigurationVersionId).toBe(created.body.data.id);
  });

  it("uploads a real tar.gz without a bearer token, becomes uploaded, and downloads the same bytes", async () => {
    const archive = await realArchive({ "main.tf": 'resource "null_resource" "a" {}\n', "modules/m/main.tf": "# module\n" });
    const created = await createVersion();
    const cv = created.body.data;
    const upload = await put(cv.attributes["upload-url"], archive);
    expect(upload.status).toBe(200);

    const read = await env.admin.get(`/configuration-versions/${cv.id}`);
    expect(read.body.data.attributes.status).toBe("uploaded");
    expect(read.body.data.attributes).not.toHaveProperty("upload-url");
    expect(read.body.data.attributes["status-timestamps"]["uploaded-at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

    const download = await fetch(`${env.gateway.url}/api/v2/configuration-versions/${cv.id}/download`, {
      headers: { Authorization: `Bearer ${env.gateway.adminToken}` },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toMatch(/^application\/x-gzip/);
    expect(Buffer.from(await download.arrayBuffer()).equals(archive)).toBe(true);

    const again = await put(cv.attributes["upload-url"], archive);
    expect(again.status).toBe(409);
  });

  it("queues a run from an auto-queue-runs upload, with its events, in the upload's transaction", async () => {
    const created = await createVersion({ "auto-queue-runs": true, speculative: true });
    const cvId: string = created.body.data.id;
    expect((await put(created.body.data.attributes["upload-url"], await realArchive({ "main.tf": "# x\n" }))).status).toBe(200);

    const runs = await env.db.run.findMany({ where: { configurationVersionId: cvId }, include: { plan: true, apply: true, events: true } });
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({ source: "tfe-configuration-version", planOnly: true, operation: "plan_only", status: "pending", message: "Triggered via API" });
    expect(run.plan?.status).toBe("pending");
    expect(run.apply?.status).toBe("pending");
    expect(run.events.map((e) => e.action)).toEqual(["created"]);
    const subjects = (await env.db.outboxEvent.findMany({ select: { subject: true } })).map((o) => o.subject);
    expect(subjects).toContain(`${env.prefix}.runs.${run.id}.created`);
    expect(subjects).toContain(`${env.prefix}.configuration-versions.${cvId}.uploaded`);

    const viaRun = await fetch(`${env.gateway.url}/api/v2/runs/${run.id}/configuration-version/download`, {
      headers: { Authorization: `Bearer ${env.gateway.adminToken}` },
    });
    expect(viaRun.status).toBe(200);
    expect((await viaRun.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("accepts exactly one of two concurrent uploads and queues one run", async () => {
    const created = await createVersion({ "auto-queue-runs": true });
    const url: string = created.body.data.attributes["upload-url"];
    const [a, b] = await Promise.all([put(url, await realArchive({ "main.tf": "# a\n" })), put(url, await realArchive({ "main.tf": "# b\n" }))]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(await env.db.run.count({ where: { configurationVersionId: created.body.data.id } })).toBe(1);
    expect(await env.db.blob.count({ where: { configurationVersions: { some: { id: created.body.data.id } } } })).toBe(1);
  });

  it("queues no run when auto-queue-runs is false", async () => {
    const created = await createVersion({ "auto-queue-runs": false });
    expect((await put(created.body.data.attributes["upload-url"], await realArchive({ "main.tf": "# y\n" }))).status).toBe(200);
    expect(await env.db.run.count({ where: { configurationVersionId: created.body.data.id } })).toBe(0);
  });

  it("answers 404 to a wrong secret or an unknown version, and changes nothing", async () => {
    const created = await createVersion();
    const url: string = created.body.data.attributes["upload-url"];
    const archive = await realArchive({ "main.tf": "# z\n" });
    expect((await put(url.replace(/\/[^/]+$/, "/not-the-secret"), archive)).status).toBe(404);
    expect((await put(url.replace(created.body.data.id, "cv-doesnotexist1234"), archive)).status).toBe(404);
    const read = await env.admin.get(`/configuration-versions/${created.body.data.id}`);
    expect(read.body.data.attributes.status).toBe("pending");
  });

  const evil = `evil-${randomBytes(4).toString("hex")}`;
  const malicious: [string, () => Buffer, RegExp][] = [
    ["a ../ path", () => rawTarGz([{ path: `../${evil}.tf`, body: "x" }]), /escapes the archive root/],
    ["an absolute path", () => rawTarGz([{ path: "/etc/passwd", body: "root::0:0::/:/bin/sh\n" }]), /"\/etc\/passwd".*absolute/],
    ["a path climbing out after descending", () => rawTarGz([{ path: `a/../../${evil}`, body: "x" }]), /escapes the archive root/],
    ["a symlink to /etc/passwd", () => rawTarGz([{ path: "pw", type: "SymbolicLink", linkpath: "/etc/passwd" }]), /symbolic link target "\/etc\/passwd"/],
    ["a symlink to ../../x", () => rawTarGz([{ path: "d/l", type: "SymbolicLink", linkpath: "../../x" }]), /symbolic link target "\.\.\/\.\.\/x" escapes/],
    ["an escaping hard link", () => rawTarGz([{ path: "h", type: "Link", linkpath: "../../etc/shadow" }]), /hard link target .* escapes/],
    ["a character device", () => rawTarGz([{ path: "null", type: "CharacterDevice" }]), /"null" is a CharacterDevice/],
    ["a FIFO", () => rawTarGz([{ path: "pipe", type: "FIFO" }]), /"pipe" is a FIFO/],
    ["a gzip bomb", () => rawTarGz([{ path: "zeros.tf", body: "\0".repeat(8 * MAX_UNPACKED) }]), /unpacks to more than 1000000 bytes/],
    ["a body that is not gzip", () => Buffer.from("this is not an archive at all"), /not gzip-compressed/],
    ["gzip around something that is not tar", () => gzipSync(Buffer.from("still not a tar archive")), /not a valid tar archive/],
  ];

  it.each(malicious)("refuses %s: the version becomes errored naming the rule, and no run is queued", async (_what, make, message) => {
    const created = await createVersion({ "auto-queue-runs": true });
    const cvId: string = created.body.data.id;
    const body = make();
    expect(body.length).toBeLessThan(MAX_ARCHIVE);
    const upload = await put(created.body.data.attributes["upload-url"], body);
    expect(upload.status).toBe(422);
    expect(JSON.parse(upload.text).errors[0].detail).toMatch(message);

    const read = await env.admin.get(`/configuration-versions/${cvId}`);
    expect(read.body.data.attributes).toMatchObject({ status: "errored", error: "invalid_archive" });
    expect(read.body.data.attributes["error-message"]).toMatch(message);
    expect(read.body.data.attributes["status-timestamps"]["errored-at"]).toBeDefined();
    expect(await env.db.run.count({ where: { configurationVersionId: cvId } })).toBe(0);
    expect((await env.admin.get(`/configuration-versions/${cvId}/download`)).status).toBe(404);
    // Nothing was unpacked: the escaping names exist nowhere a careless extractor would have put them.
    for (const dir of [REPO_ROOT, path.dirname(REPO_ROOT), path.join(REPO_ROOT, "apps"), os.tmpdir(), "/"]) {
      expect(existsSync(path.join(dir, `${evil}.tf`))).toBe(false);
      expect(existsSync(path.join(dir, evil))).toBe(false);
    }
    // A refused version accepts no second attempt.
    expect((await put(created.body.data.attributes["upload-url"], await realArchive({ "main.tf": "#\n" }))).status).toBe(409);
  });

  it("answers 413 to a body over the archive limit and marks the version errored", async () => {
    const created = await createVersion();
    const upload = await put(created.body.data.attributes["upload-url"], randomBytes(MAX_ARCHIVE + 1));
    expect(upload.status).toBe(413);
    const read = await env.admin.get(`/configuration-versions/${created.body.data.id}`);
    expect(read.body.data.attributes).toMatchObject({ status: "errored", error: "archive_too_large" });
  });

  it("answers 413 to a chunked body that streams past the limit", async () => {
    const created = await createVersion();
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 4 * MAX_ARCHIVE) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(created.body.data.attributes["upload-url"], {
      method: "PUT",
      body,
      duplex: "half",
    } as RequestInit).catch((err: unknown) => err as Error);
    // The gateway stops reading at the limit; the client sees the 413 or, if it was still
    // writing when the connection closed, a reset. Either way nothing was stored.
    if (!(res instanceof Error)) expect(res.status).toBe(413);
    const read = await waitFor(async () => {
      const r = await env.admin.get(`/configuration-versions/${created.body.data.id}`);
      return r.body.data.attributes.status === "pending" ? undefined : r;
    }, { timeoutMs: 10_000, what: "the version to leave pending" });
    expect(read.body.data.attributes).toMatchObject({ status: "errored", error: "archive_too_large" });
  });

  it("refuses organization tokens and read-only teams on create, but lets readers read", async () => {
    const orgToken = await organizationToken(env.db, org.id);
    expect((await createVersion({}, orgToken)).status).toBe(404);
    const reader = await teamToken(env.db, org.id, ws.id, "read");
    expect((await createVersion({}, reader)).status).toBe(404);
    const planner = await teamToken(env.db, org.id, ws.id, "plan");
    const created = await createVersion({ "auto-queue-runs": false }, planner);
    expect(created.status).toBe(201);
    expect((await env.admin.withToken(reader).get(`/configuration-versions/${created.body.data.id}`)).status).toBe(200);

    const other = await createOrganization(env.db);
    const otherWs = await createWorkspace(env.db, other.id);
    const outsider = await teamToken(env.db, other.id, otherWs.id, "admin");
    expect((await env.admin.withToken(outsider).get(`/configuration-versions/${created.body.data.id}`)).status).toBe(404);
    expect((await env.admin.withToken(outsider).get(`/workspaces/${ws.id}/configuration-versions`)).status).toBe(404);
  });

  it("lists a workspace's versions newest first with pagination totals", async () => {
    const page = await env.admin.get(`/workspaces/${ws.id}/configuration-versions?page[size]=2`);
    expect(page.status).toBe(200);
    const total = await env.db.configurationVersion.count({ where: { workspaceId: ws.id } });
    expect(page.body.meta.pagination).toMatchObject({ "current-page": 1, "page-size": 2, "total-count": total, "total-pages": Math.ceil(total / 2) });
    expect(page.body.data).toHaveLength(2);
    const newest = await env.db.configurationVersion.findFirstOrThrow({ where: { workspaceId: ws.id }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
    expect(page.body.data[0].id).toBe(newest.id);
  });

  it("has no ingress attributes for API uploads", async () => {
    const created = await createVersion();
    expect((await env.admin.get(`/configuration-versions/${created.body.data.id}/ingress-attributes`)).status).toBe(404);
  });

  it("archives an older uploaded version, but not the latest nor one never uploaded", async () => {
    const older = await createVersion();
    await put(older.body.data.attributes["upload-url"], await realArchive({ "main.tf": "# old\n" }));
    const pending = await createVersion();
    expect((await env.admin.post(`/configuration-versions/${pending.body.data.id}/actions/archive`)).status).toBe(409);
    const latest = await createVersion();
    await put(latest.body.data.attributes["upload-url"], await realArchive({ "main.tf": "# new\n" }));
    expect((await env.admin.post(`/configuration-versions/${latest.body.data.id}/actions/archive`)).status).toBe(409);

    expect((await env.admin.post(`/configuration-versions/${older.body.data.id}/actions/archive`)).status).toBe(202);
    const read = await env.admin.get(`/configuration-versions/${older.body.data.id}`);
    expect(read.body.data.attributes.status).toBe("archived");
    expect(read.body.data.attributes["status-timestamps"]["archived-at"]).toBeDefined();
    expect((await env.admin.get(`/configuration-versions/${older.body.data.id}/download`)).status).toBe(404);
  });
});

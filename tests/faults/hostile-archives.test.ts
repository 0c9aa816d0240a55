import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import { createOrganizationRow, createWorkspaceRow, startGatewayTestEnv, waitFor, type GatewayTestEnv } from "@tarmac/testing";

/**
 * Hostile configuration archives against a real gateway with its default limits: each is
 * refused (422, or 413 for an oversized body), its configuration version turns `errored`,
 * the refusal is logged, and the gateway spends less than 2 s of CPU on it (read from
 * /proc for the gateway's whole process group, so the tsx launcher counts too).
 */
const CPU_BUDGET_SECONDS = 2;
const MiB = 1024 * 1024;

let env: GatewayTestEnv;
let wsId: string;

beforeAll(async () => {
  env = await startGatewayTestEnv({ LOG_LEVEL: "warn" });
  const org = await createOrganizationRow(env.db);
  wsId = (await createWorkspaceRow(env.db, org.id, { terraformVersion: "1.9.4" })).id;
}, 120_000);

afterAll(async () => {
  await env?.close();
});

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds of every process in the gateway's process group. */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

interface Entry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice";
  body?: Buffer | string;
  linkpath?: string;
  /** Written as a pax extended header (names beyond ustar's 255 bytes). */
  pax?: boolean;
}

function headerBlock(e: Entry, size: number): Buffer {
  const block = Buffer.alloc(512);
  const path = e.pax ? "PaxHeader/long" : e.path;
  new Header({ path, type: e.type ?? "File", size, mode: 0o644, mtime: new Date(0), ...(e.linkpath ? { linkpath: e.linkpath } : {}) }).encode(block, 0);
  return block;
}

/** A tar written header by header, so it can hold what no honest tool writes. */
function rawTar(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    if (e.pax) blocks.push(new Pax({ path: e.path, mtime: new Date(0) }).encode());
    blocks.push(headerBlock(e, body.length));
    if (body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const tgz = (entries: Entry[]): Buffer => gzipSync(rawTar(entries));

/**
 * A gzip bomb of `total` zero bytes inside one tar entry, ~1 MB compressed: gzip allows
 * concatenated members, so one compressed MiB of zeros is repeated instead of deflating a GiB.
 */
function gzipBomb(total: number): Buffer {
  const zeroMiB = gzipSync(Buffer.alloc(MiB), { level: 9 });
  const members = [gzipSync(headerBlock({ path: "zeros.tf" }, total))];
  for (let written = 0; written < total; written += MiB) members.push(zeroMiB);
  members.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(members);
}

/** `count` empty files (the same name over and over: tar allows it, and it is quick to make). */
function manyEntries(count: number): Buffer {
  const header = headerBlock({ path: "f.tf" }, 0);
  const blocks: Buffer[] = [];
  for (let i = 0; i < count; i++) blocks.push(header);
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

/** A chunked body (no Content-Length) of `total` bytes. */
function streamOf(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(MiB);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

const truncated = (data: Buffer): Buffer => data.subarray(0, data.length - 1_000);

const good = rawTar([{ path: "main.tf", body: 'resource "terraform_data" "x" {}\n' }]);

type Body = Buffer | (() => ReadableStream<Uint8Array>);
const hostile: [string, () => Body, number, RegExp][] = [
  ["24 MiB of zeros after the end marker", () => gzipSync(Buffer.concat([good, Buffer.alloc(24 * MiB)]), { level: 9 }), 422, /follow the end of the tar archive/],
  // Either bound may come first on a loaded machine: the decompressed size or the deadline.
  ["a 1 GiB gzip bomb", () => gzipBomb(1024 * MiB), 422, /unpacks to more than|took longer than/],
  ["200 000 entries", () => manyEntries(200_000), 422, /more than \d+ entries/],
  ["2 000 nested directories", () => tgz([{ path: `${"d/".repeat(2_000)}main.tf`, body: "x", pax: true }]), 422, /nested deeper than/],
  ["a parent-directory path", () => tgz([{ path: "../../evil.tf", body: "x" }]), 422, /escapes the archive root/],
  ["an absolute path", () => tgz([{ path: "/etc/cron.d/evil", body: "x" }]), 422, /absolute path/],
  ["a symlink escaping the root", () => tgz([{ path: "etc", type: "SymbolicLink", linkpath: "../../../etc" }]), 422, /symbolic link target .* escapes/],
  ["a hard link escaping the root", () => tgz([{ path: "shadow", type: "Link", linkpath: "../../etc/shadow" }]), 422, /hard link target .* escapes/],
  ["a device file", () => tgz([{ path: "mem", type: "CharacterDevice" }]), 422, /is a CharacterDevice/],
  ["a declared length over the limit", () => Buffer.alloc(100 * MiB + 1), 413, /larger than/],
  ["a chunked body streaming past the limit", () => () => streamOf(160 * MiB), 413, /larger than/],
  ["a truncated gzip stream", () => truncated(gzipSync(rawTar([{ path: "main.tf", body: randomBytes(50_000) }]))), 422, /not a valid gzip stream|not a valid tar/],
  ["a body that is not gzip", () => good, 422, /not gzip-compressed/],
  ["gzip inside gzip", () => gzipSync(gzipSync(good)), 422, /compressed twice/],
];

async function createVersion(): Promise<{ id: string; uploadUrl: string }> {
  const res = await env.admin.post(`/workspaces/${wsId}/configuration-versions`, {
    data: { type: "configuration-versions", attributes: { "auto-queue-runs": false } },
  });
  expect(res.status).toBe(201);
  return { id: res.body.data.id, uploadUrl: res.body.data.attributes["upload-url"] };
}

async function upload(url: string, body: Body): Promise<{ status: number; text: string } | Error> {
  const init = Buffer.isBuffer(body)
    ? { body }
    : { body: body(), duplex: "half" };
  try {
    const res = await fetch(url, { method: "PUT", headers: { "Content-Type": "application/octet-stream" }, ...init } as RequestInit);
    return { status: res.status, text: await res.text() };
  } catch (err) {
    // A body the gateway stopped reading may end in a reset while the client still writes.
    return new Error(String((err as Error).message));
  }
}

describe("hostile configuration archives", () => {
  it("accepts an honest archive", async () => {
    const cv = await createVersion();
    const res = await upload(cv.uploadUrl, gzipSync(good));
    expect(res).toMatchObject({ status: 200 });
  });

  it.each(hostile)("refuses %s within the CPU budget and errors the version", async (what, make, status, message) => {
    const cv = await createVersion();
    const body = make();
    const pgid = env.gateway.process.child.pid!;
    const logged = env.gateway.process.output().length;
    const before = groupCpuSeconds(pgid);
    const res = await upload(cv.uploadUrl, body);
    const read = await waitFor(
      async () => {
        const r = await env.admin.get(`/configuration-versions/${cv.id}`);
        return r.body.data.attributes.status === "pending" ? undefined : r;
      },
      { timeoutMs: 20_000, what: `${what}: the version to leave pending` },
    );
    const cpu = groupCpuSeconds(pgid) - before;
    const size = Buffer.isBuffer(body) ? `${body.length} bytes` : "chunked";
    process.stdout.write(`hostile archive: ${what} (${size}) → ${res instanceof Error ? res.message : res.status}, gateway CPU ${cpu.toFixed(2)} s\n`);

    if (!(res instanceof Error) || status !== 413) {
      expect(res).not.toBeInstanceOf(Error);
      const answer = res as { status: number; text: string };
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.text).errors[0].detail).toMatch(message);
    }
    expect(read.body.data.attributes.status).toBe("errored");
    expect(read.body.data.attributes["error-message"]).toMatch(message);
    expect(cpu).toBeLessThan(CPU_BUDGET_SECONDS);
    expect(env.gateway.process.output().slice(logged)).toMatch(new RegExp(`configuration archive refused.*${cv.id}|${cv.id}.*configuration archive refused`));
  }, 60_000);
});

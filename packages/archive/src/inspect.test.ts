import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { cpuMsSince, inspectArchive } from "./inspect";
import { archiveLimits } from "./limits";

interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  body?: string;
  linkpath?: string;
}

/** A tar written header by header, so it can hold what no honest tool would write. */
function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const header = new Header({
      path: e.path,
      type: e.type ?? "File",
      size: e.type === undefined || e.type === "File" ? body.length : 0,
      mode: 0o644,
      mtime: new Date(0),
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const limits = archiveLimits({ maxUnpackedBytes: 1024 * 1024, maxEntries: 100 });

describe("configuration archive inspection", () => {
  it("accepts a plain configuration with directories and inner links", async () => {
    const tgz = gzipSync(
      rawTar([
        { path: "main.tf", body: 'resource "null_resource" "x" {}\n' },
        { path: "modules/", type: "Directory" },
        { path: "modules/a/main.tf", body: "# a\n" },
        { path: "modules/b", type: "SymbolicLink", linkpath: "a" },
        { path: "modules/a/up.tf", type: "SymbolicLink", linkpath: "../../main.tf" },
        { path: "copy.tf", type: "Link", linkpath: "main.tf" },
      ]),
    );
    await expect(inspectArchive(tgz, limits)).resolves.toMatchObject({ ok: true, entries: 6 });
  });

  const rejected: [string, RawEntry[], RegExp][] = [
    ["a parent-directory path", [{ path: "../evil.tf", body: "x" }], /"\.\.\/evil\.tf".*escapes/],
    ["an absolute path", [{ path: "/etc/passwd", body: "x" }], /"\/etc\/passwd".*absolute/],
    ["a path that climbs out after descending", [{ path: "a/../../x", body: "x" }], /"a\/\.\.\/\.\.\/x".*escapes/],
    ["a windows drive letter", [{ path: "C:/Windows/evil", body: "x" }], /drive letter/],
    ["a backslash trick", [{ path: "..\\evil.tf", body: "x" }], /backslash/],
    ["a symlink to an absolute target", [{ path: "pw", type: "SymbolicLink", linkpath: "/etc/passwd" }], /"pw".*symbolic link target "\/etc\/passwd".*absolute/],
    ["a symlink climbing out", [{ path: "d/x", type: "SymbolicLink", linkpath: "../../x" }], /"d\/x".*escapes/],
    ["a hard link climbing out", [{ path: "h", type: "Link", linkpath: "../outside" }], /"h".*hard link.*escapes/],
    ["a character device", [{ path: "dev", type: "CharacterDevice" }], /"dev" is a CharacterDevice/],
    ["a block device", [{ path: "blk", type: "BlockDevice" }], /"blk" is a BlockDevice/],
    ["a FIFO", [{ path: "pipe", type: "FIFO" }], /"pipe" is a FIFO/],
    [
      "a file written through an earlier symlink",
      [
        { path: "sub/", type: "Directory" },
        { path: "sub/up", type: "SymbolicLink", linkpath: ".." },
        { path: "sub/up/up2", type: "SymbolicLink", linkpath: ".." },
        { path: "sub/up/x.tf", body: "x" },
      ],
      /passes through the symbolic link "sub\/up"/,
    ],
    [
      "a link target that climbs through another link",
      [
        { path: "sub/", type: "Directory" },
        { path: "sub/up", type: "SymbolicLink", linkpath: ".." },
        { path: "sub/l", type: "SymbolicLink", linkpath: "up/../x" },
      ],
      /"sub\/l".*"up\/\.\.\/x" has "\.\." after a directory name/,
    ],
    ["a symlink named as the root", [{ path: "./", type: "SymbolicLink", linkpath: "sub" }], /only a directory may name the archive root/],
  ];

  it.each(rejected)("refuses %s and names the entry", async (_what, entries, message) => {
    const verdict = await inspectArchive(gzipSync(rawTar(entries)), limits);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.error).toBe("invalid_archive");
      expect(verdict.message).toMatch(message);
    }
  });

  it("refuses a body that is not gzip", async () => {
    const verdict = await inspectArchive(rawTar([{ path: "main.tf", body: "x" }]), limits);
    expect(verdict).toMatchObject({ ok: false, message: expect.stringMatching(/not gzip/) });
  });

  it("refuses gzip that holds no tar", async () => {
    const verdict = await inspectArchive(gzipSync(Buffer.from("just some text, certainly not a tar header")), limits);
    expect(verdict).toMatchObject({ ok: false, message: expect.stringMatching(/not a valid tar/) });
  });

  it("refuses a truncated gzip stream", async () => {
    const tgz = gzipSync(rawTar([{ path: "main.tf", body: "x".repeat(5000) }]));
    const verdict = await inspectArchive(tgz.subarray(0, tgz.length - 20), limits);
    expect(verdict.ok).toBe(false);
  });

  it("refuses an archive compressed twice", async () => {
    const verdict = await inspectArchive(gzipSync(gzipSync(rawTar([{ path: "main.tf", body: "x" }]))), limits);
    expect(verdict).toMatchObject({ ok: false, message: expect.stringMatching(/compressed twice/) });
  });

  it("stops a decompression bomb at the unpacked limit", async () => {
    const bomb = gzipSync(rawTar([{ path: "zeros.tf", body: "\0".repeat(8 * 1024 * 1024) }]), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const verdict = await inspectArchive(bomb, limits);
    expect(verdict).toMatchObject({ ok: false, message: expect.stringMatching(/unpacks to more than 1048576 bytes/) });
  });

  it("refuses too many entries", async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ path: `f${i}.tf`, body: "x" }));
    const verdict = await inspectArchive(gzipSync(rawTar(many)), limits);
    expect(verdict).toMatchObject({ ok: false, message: expect.stringMatching(/more than 100 entries/) });
  });

  it("counts bytes after the end marker and refuses them past the trailing limit, without parsing them", async () => {
    const tar = rawTar([{ path: "main.tf", body: "x" }]);
    const padded = gzipSync(Buffer.concat([tar, Buffer.alloc(10 * 1024)]));
    await expect(inspectArchive(padded, limits)).resolves.toMatchObject({ ok: true, entries: 1 });
    const trailing = gzipSync(Buffer.concat([tar, Buffer.alloc(24 * 1024 * 1024)]), { level: 9 });
    // CPU time, not the clock: suites run side by side on a loaded machine (1.34 s of the clock
    // was seen for the same work in CI).
    const started = process.cpuUsage();
    const verdict = await inspectArchive(trailing, archiveLimits({ maxUnpackedBytes: 64 * 1024 * 1024 }));
    expect(verdict).toMatchObject({ ok: false, error: "invalid_archive", message: expect.stringMatching(/follow the end of the tar archive/) });
    expect(cpuMsSince(started)).toBeLessThan(1_000);
  });

  it("refuses an archive larger than the compressed limit", async () => {
    const tgz = gzipSync(rawTar([{ path: "main.tf", body: "x".repeat(4096) }]), { level: 0 });
    const verdict = await inspectArchive(tgz, archiveLimits({ maxCompressedBytes: 1024 }));
    expect(verdict).toMatchObject({ ok: false, error: "archive_too_large" });
  });

  it("refuses names nested deeper than the depth limit", async () => {
    const deep = `${Array.from({ length: 20 }, () => "d").join("/")}/main.tf`;
    const verdict = await inspectArchive(gzipSync(rawTar([{ path: deep, body: "x" }])), archiveLimits({ maxPathDepth: 10 }));
    expect(verdict).toMatchObject({ ok: false, message: expect.stringMatching(/nested deeper than 10 directories/) });
  });

  it("gives up at the deadline", async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({ path: `f${i}.tf`, body: "x" }));
    const verdict = await inspectArchive(gzipSync(rawTar(many)), archiveLimits({ deadlineMs: 1 }));
    expect(verdict).toMatchObject({ ok: false, error: "inspection_timeout" });
  });

  // The process stops between two chunks of the archive, as one does when it waits for a core on
  // a loaded machine or blocks writing to a full pipe: Atomics.wait blocks the thread without
  // spending CPU. The clock passes the budget; the archive cost nothing, so it is accepted.
  it("does not count the time the process waited without spending CPU", async () => {
    const tgz = gzipSync(rawTar([{ path: "main.tf", body: "x" }]));
    const stalled = (async function* (): AsyncIterable<Buffer> {
      yield tgz.subarray(0, 10);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
      await new Promise((r) => setTimeout(r, 50));
      yield tgz.subarray(10);
    })();
    const started = performance.now();
    const verdict = await inspectArchive(stalled, archiveLimits({ deadlineMs: 200 }));
    expect(performance.now() - started).toBeGreaterThan(600);
    expect(verdict).toMatchObject({ ok: true, entries: 1 });
  });

  it("refuses once the process spent the budget in CPU time while inspecting", async () => {
    const tgz = gzipSync(rawTar([{ path: "main.tf", body: "x" }]));
    const burning = (async function* (): AsyncIterable<Buffer> {
      yield tgz.subarray(0, 10);
      // 400 ms of this process's CPU time, however long a loaded machine takes to give it.
      const spun = process.cpuUsage();
      while (cpuMsSince(spun) < 400);
      await new Promise((r) => setTimeout(r, 50));
      yield tgz.subarray(10);
    })();
    const verdict = await inspectArchive(burning, archiveLimits({ deadlineMs: 200 }));
    expect(verdict).toMatchObject({ ok: false, error: "inspection_timeout", message: "inspecting the archive took longer than 200 ms of CPU time" });
  });

  it("reads a stream source chunk by chunk, even one byte at a time at first", async () => {
    const tgz = gzipSync(rawTar([{ path: "main.tf", body: "x" }]));
    async function* trickle(): AsyncIterable<Buffer> {
      yield tgz.subarray(0, 1);
      yield tgz.subarray(1, 2);
      yield tgz.subarray(2);
    }
    await expect(inspectArchive(trickle(), limits)).resolves.toMatchObject({ ok: true, entries: 1, compressedBytes: tgz.length });
  });

  it("refuses an empty body", async () => {
    await expect(inspectArchive(Buffer.alloc(0), limits)).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/not gzip/) });
  });
});

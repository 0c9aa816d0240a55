import { createHmac, randomBytes } from "node:crypto";
import {
  capabilityPaths,
  jobCapabilityId,
  mintCapability,
  mintCapabilityUntil,
  type CapabilityPurpose,
  type KeyRing,
  type Phase,
} from "@tarmac/contracts";
import { decryptValue, encryptValue, putBlob } from "@tarmac/db";
import { applyIdFor, newId, planIdFor, type RunStatus } from "@tarmac/domain";
import { startGateway, startGatewayTestEnv, type GatewayTestEnv, type StartedGateway } from "@tarmac/testing";

/**
 * The attacker's view of capability URLs: URLs forged under the key Tarmac once shipped as a
 * default, URLs past their expiry, and the genuine job URLs of a run whose phases have ended.
 * Every probe must be refused and change nothing; the genuine, live URLs beside them must work.
 */

const PUBLIC_DEFAULT_KEY = "tarmac-development-key-change-me";
const publicRing: KeyRing = { current: PUBLIC_DEFAULT_KEY, previous: [] };
const HOUR = 3_600_000;
/** The secret format before expiries: HMAC(purpose:id) under the key, forever valid. */
const legacySecret = (purpose: CapabilityPurpose, id: string) => createHmac("sha256", PUBLIC_DEFAULT_KEY).update(`${purpose}:${id}`).digest("base64url");

let env: GatewayTestEnv;
let keys: KeyRing;
const tally = { refused: 0, accepted: 0, unexpected: [] as string[] };

beforeAll(async () => {
  env = await startGatewayTestEnv();
  keys = env.gateway.keys;
}, 60_000);

afterAll(async () => {
  // One line for whoever reads the run: every attacker probe should be in "refused".
  console.log(`capability probes: ${tally.refused} refused, ${tally.accepted} accepted${tally.unexpected.length ? `; unexpected: ${tally.unexpected.join(", ")}` : ""}`);
  await env?.close();
}, 60_000);

/** Sends an attacker's request and records whether the gateway refused it. */
async function probe(name: string, url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (res.status >= 400) tally.refused++;
  else {
    tally.accepted++;
    tally.unexpected.push(`${name} → ${res.status}`);
  }
  return res.status;
}

interface Fixture {
  runId: string;
  workspaceId: string;
  cvId: string;
}

async function createFixture(status: RunStatus, cvStatus: "pending" | "uploaded" = "uploaded"): Promise<Fixture> {
  const db = env.db;
  const name = `o${randomBytes(4).toString("hex")}`;
  const organizationId = newId("org");
  await db.organization.create({ data: { id: organizationId, name, email: `${name}@example.com` } });
  const workspaceId = newId("ws");
  await db.workspace.create({ data: { id: workspaceId, organizationId, name: `w-${name}` } });
  await db.workspaceVariable.create({
    data: { id: newId("var"), workspaceId, key: "token", value: encryptValue("very-secret", keys.current), category: "env", sensitive: true },
  });
  const archiveBlobId = cvStatus === "uploaded" ? await putBlob(db, Buffer.from([0x1f, 0x8b]), "application/gzip") : null;
  const cvId = newId("cv");
  await db.configurationVersion.create({ data: { id: cvId, workspaceId, status: cvStatus, archiveBlobId } });
  const runId = newId("run");
  await db.run.create({ data: { id: runId, organizationId, workspaceId, configurationVersionId: cvId, status, operation: "plan_and_apply", terraformVersion: "1.11.4" } });
  await db.plan.create({ data: { id: planIdFor(runId), runId } });
  await db.apply.create({ data: { id: applyIdFor(runId), runId } });
  return { runId, workspaceId, cvId };
}

const jobUrl = (ring: KeyRing, runId: string, phase: Phase, ttlMs = HOUR) =>
  env.gateway.url + capabilityPaths.job(runId, phase, mintCapability(ring, "job", jobCapabilityId(runId, phase), ttlMs));
const stateDoc = (serial: number) => JSON.stringify({ version: 4, terraform_version: "1.11.4", serial, lineage: "lin", outputs: {}, resources: [] });

describe("URLs forged under the former public default key", () => {
  it("refuses job, log and upload URLs in both the old and the new format", async () => {
    const f = await createFixture("planning");
    const pending = await createFixture("pending", "pending");
    const g = env.gateway.url;
    expect(await probe("legacy job spec", `${g}/_jobs/${f.runId}/${legacySecret("job", f.runId)}/spec`)).toBe(404);
    expect(await probe("legacy job spec (phase path)", `${g}${capabilityPaths.job(f.runId, "plan", legacySecret("job", f.runId))}/spec`)).toBe(404);
    expect(await probe("forged job spec", `${jobUrl(publicRing, f.runId, "plan")}/spec`)).toBe(404);
    expect(await probe("forged job inputs", `${jobUrl(publicRing, f.runId, "plan")}/inputs`)).toBe(404);
    expect(await probe("forged job config", `${jobUrl(publicRing, f.runId, "plan")}/configuration`)).toBe(404);
    expect(await probe("forged plan log write", `${jobUrl(publicRing, f.runId, "plan")}/logs/plan`, { method: "PUT", body: "\x02forged\x03" })).toBe(404);
    const planId = planIdFor(f.runId);
    expect(await probe("legacy log read", `${g}${capabilityPaths.log(planId, legacySecret("log", planId))}`)).toBe(404);
    expect(await probe("forged log read", `${g}${capabilityPaths.log(planId, mintCapability(publicRing, "log", planId, HOUR))}`)).toBe(404);
    const upload = (secret: string) => probe("forged upload", `${g}${capabilityPaths.upload(pending.cvId, secret)}`, { method: "PUT", body: new Uint8Array([0x1f, 0x8b]) });
    expect(await upload(legacySecret("upload", pending.cvId))).toBe(404);
    expect(await upload(mintCapability(publicRing, "upload", pending.cvId, HOUR))).toBe(404);

    expect((await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } })).logBlobId).toBeNull();
    expect((await env.db.configurationVersion.findUniqueOrThrow({ where: { id: pending.cvId } })).status).toBe("pending");
  });
});

describe("expired URLs", () => {
  it("refuses job, log and upload URLs minted under the real key once their expiry has passed", async () => {
    const f = await createFixture("planning");
    const pending = await createFixture("pending", "pending");
    const g = env.gateway.url;
    const past = new Date(Date.now() - 1_000);
    const expiredJob = g + capabilityPaths.job(f.runId, "plan", mintCapabilityUntil(keys, "job", jobCapabilityId(f.runId, "plan"), past));
    expect(await probe("expired job spec", `${expiredJob}/spec`)).toBe(404);
    expect(await probe("expired plan-file write", `${expiredJob}/plan-file`, { method: "PUT", body: "x" })).toBe(404);
    const planId = planIdFor(f.runId);
    expect(await probe("expired log read", g + capabilityPaths.log(planId, mintCapabilityUntil(keys, "log", planId, past)))).toBe(404);
    const expiredUpload = g + capabilityPaths.upload(pending.cvId, mintCapabilityUntil(keys, "upload", pending.cvId, past));
    expect(await probe("expired upload", expiredUpload, { method: "PUT", body: new Uint8Array([0x1f, 0x8b]) })).toBe(404);

    // The same run through live URLs: the refusals above are about the URLs, not the run.
    expect((await fetch(`${jobUrl(keys, f.runId, "plan")}/spec`)).status).toBe(200);
    expect((await fetch(g + capabilityPaths.log(planId, mintCapability(keys, "log", planId, HOUR)))).status).toBe(200);
    expect((await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } })).planFileBlobId).toBeNull();
    expect((await env.db.configurationVersion.findUniqueOrThrow({ where: { id: pending.cvId } })).status).toBe("pending");
  });
});

describe("job URLs of phases that have ended", () => {
  it("refuses every read and write through the run's own job URLs once it is applied, and nothing changes", async () => {
    const f = await createFixture("planning");
    const planUrl = jobUrl(keys, f.runId, "plan");
    const applyUrl = jobUrl(keys, f.runId, "apply");
    // The run's life, through its own URLs while each phase lives.
    expect((await fetch(`${planUrl}/logs/plan`, { method: "PUT", body: "\x02planned\x03" })).status).toBe(204);
    expect((await fetch(`${applyUrl}/spec`)).status).toBe(409); // the apply phase has not begun
    await env.db.run.update({ where: { id: f.runId }, data: { status: "applying" } });
    expect((await fetch(`${planUrl}/spec`)).status).toBe(409); // the plan phase is over
    const created = await fetch(`${applyUrl}/state`, { method: "PUT", body: stateDoc(1) });
    expect(created.status).toBe(201);
    expect((await fetch(`${applyUrl}/logs/apply`, { method: "PUT", body: "\x02applied\x03" })).status).toBe(204);
    await env.db.run.update({ where: { id: f.runId }, data: { status: "applied" } });
    await env.db.apply.update({ where: { runId: f.runId }, data: { status: "finished" } });

    const before = {
      workspace: await env.db.workspace.findUniqueOrThrow({ where: { id: f.workspaceId }, select: { currentStateVersionId: true } }),
      stateVersions: await env.db.stateVersion.count({ where: { workspaceId: f.workspaceId } }),
      plan: await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } }),
      apply: await env.db.apply.findUniqueOrThrow({ where: { runId: f.runId } }),
    };
    expect(before.workspace.currentStateVersionId).not.toBeNull();

    expect(await probe("state after apply", `${applyUrl}/state`, { method: "PUT", body: stateDoc(2) })).toBe(409);
    expect(await probe("same state after apply", `${applyUrl}/state`, { method: "PUT", body: stateDoc(1) })).toBe(409);
    expect(await probe("plan log after apply", `${planUrl}/logs/plan`, { method: "PUT", body: "\x02rewritten\x03" })).toBe(409);
    expect(await probe("apply log after apply", `${applyUrl}/logs/apply`, { method: "PUT", body: "\x02rewritten\x03" })).toBe(409);
    expect(await probe("plan file after apply", `${planUrl}/plan-file`, { method: "PUT", body: "evil" })).toBe(409);
    expect(await probe("spec (decrypted secrets) after plan", `${planUrl}/spec`)).toBe(409);
    expect(await probe("spec (decrypted secrets) after apply", `${applyUrl}/spec`)).toBe(409);
    expect(await probe("inputs (spec, configuration, state) after plan", `${planUrl}/inputs`)).toBe(409);
    expect(await probe("inputs (spec, configuration, state) after apply", `${applyUrl}/inputs`)).toBe(409);
    expect(await probe("state read after apply", `${applyUrl}/state`)).toBe(409);
    expect(await probe("configuration after apply", `${applyUrl}/configuration`)).toBe(409);
    // Refused because the phase ended, before the once-per-phase rule is even consulted.
    const refusal = await fetch(`${applyUrl}/state`, { method: "PUT", body: stateDoc(3) });
    expect(((await refusal.json()) as { errors: Array<{ detail: string }> }).errors[0]?.detail).toMatch(/apply phase has ended/);

    expect(await env.db.workspace.findUniqueOrThrow({ where: { id: f.workspaceId }, select: { currentStateVersionId: true } })).toEqual(before.workspace);
    expect(await env.db.stateVersion.count({ where: { workspaceId: f.workspaceId } })).toBe(before.stateVersions);
    expect(await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } })).toEqual(before.plan);
    expect(await env.db.apply.findUniqueOrThrow({ where: { runId: f.runId } })).toEqual(before.apply);
  });
});

describe("key rotation", () => {
  let rotated: StartedGateway;
  afterAll(async () => {
    await rotated?.process.stop();
  });

  it("keeps URLs and sensitive values of the old key readable, re-encrypts stored values, and mints under the new key", async () => {
    const f = await createFixture("planning"); // its sensitive variable is encrypted under the old key
    const newKey = randomBytes(32).toString("base64url");
    rotated = await startGateway(env.database.url, {
      TARMAC_NATS_PREFIX: env.prefix,
      TARMAC_OUTBOX_RELAY: "off",
      TARMAC_ENCRYPTION_KEY: newKey,
      TARMAC_ENCRYPTION_KEYS_OLD: keys.current,
    });
    const oldJob = rotated.url + capabilityPaths.job(f.runId, "plan", mintCapability(keys, "job", jobCapabilityId(f.runId, "plan"), HOUR));
    const spec = await fetch(`${oldJob}/spec`);
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { variables: Array<{ value: string }> }).variables[0]?.value).toBe("very-secret");
    // At start the rotated gateway moved the stored value to the new key.
    const stored = await env.db.workspaceVariable.findFirstOrThrow({ where: { workspaceId: f.workspaceId, key: "token" } });
    expect(decryptValue(stored.value, { current: newKey, previous: [] })).toBe("very-secret");
    const newJob = rotated.url + capabilityPaths.job(f.runId, "plan", mintCapability({ current: newKey, previous: [] }, "job", jobCapabilityId(f.runId, "plan"), HOUR));
    expect((await fetch(`${newJob}/spec`)).status).toBe(200);
    // The gateway that only knows the old key does not accept what the new key minted.
    expect(await probe("new-key URL on a gateway without it", `${env.gateway.url}${new URL(newJob).pathname}/spec`)).toBe(404);
  }, 60_000);
});

import { createHmac, randomBytes } from "node:crypto";
import {
  CAPABILITY_TTL_MS,
  checkCapability,
  jobCapabilityId,
  mintCapability,
  mintCapabilityUntil,
  verifyCapability,
  type KeyRing,
} from "./capabilities";

const newKey = () => randomBytes(32).toString("base64url");
const ring = (current = newKey(), previous: string[] = []): KeyRing => ({ current, previous });
const NOW = new Date("2026-11-30T20:00:00Z");
const later = (ms: number) => new Date(NOW.getTime() + ms);

describe("capability secrets", () => {
  const keys = ring();

  it("verifies a freshly minted secret for its purpose and id until it expires", () => {
    const secret = mintCapability(keys, "upload", "cv-1", 60_000, NOW);
    expect(secret).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyCapability(keys, "upload", "cv-1", secret, NOW)).toBe(true);
    expect(verifyCapability(keys, "upload", "cv-1", secret, later(59_000))).toBe(true);
    expect(checkCapability(keys, "upload", "cv-1", secret, later(60_000))).toBe("expired");
    expect(verifyCapability(keys, "upload", "cv-1", secret, later(3_600_000))).toBe(false);
  });

  it("refuses a secret minted for another purpose or another id", () => {
    const secret = mintCapability(keys, "log", "plan-1", 60_000, NOW);
    expect(checkCapability(keys, "upload", "plan-1", secret, NOW)).toBe("invalid");
    expect(checkCapability(keys, "log", "plan-2", secret, NOW)).toBe("invalid");
    const planJob = mintCapability(keys, "job", jobCapabilityId("run-1", "plan"), 60_000, NOW);
    expect(verifyCapability(keys, "job", jobCapabilityId("run-1", "apply"), planJob, NOW)).toBe(false);
    expect(verifyCapability(keys, "job", jobCapabilityId("run-2", "plan"), planJob, NOW)).toBe(false);
  });

  it("refuses a tampered secret: a later expiry, a changed MAC, junk", () => {
    const secret = mintCapability(keys, "log", "plan-1", 60_000, NOW);
    const [expiry, mac] = secret.split(".") as [string, string];
    const extended = `${(parseInt(expiry, 36) + 86_400).toString(36)}.${mac}`;
    expect(checkCapability(keys, "log", "plan-1", extended, NOW)).toBe("invalid");
    const flipped = `${expiry}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    expect(checkCapability(keys, "log", "plan-1", flipped, NOW)).toBe("invalid");
    for (const junk of ["", ".", mac, `${expiry}.`, `${expiry}.${mac}x`, `ZZ.${mac}`, `${expiry}.${mac}/..`]) {
      expect(checkCapability(keys, "log", "plan-1", junk, NOW)).toBe("invalid");
    }
  });

  it("refuses the former never-expiring format, whatever the key", () => {
    const legacy = createHmac("sha256", "tarmac-development-key-change-me").update("job:run-1").digest("base64url");
    expect(verifyCapability(ring("tarmac-development-key-change-me"), "job", "run-1", legacy, NOW)).toBe(false);
  });

  it("accepts secrets minted under a previous key after a rotation, and mints under the new one", () => {
    const old = newKey();
    const before = mintCapability(ring(old), "log", "apply-1", 60_000, NOW);
    const rotated = ring(newKey(), [old]);
    expect(verifyCapability(rotated, "log", "apply-1", before, NOW)).toBe(true);
    const after = mintCapability(rotated, "log", "apply-1", 60_000, NOW);
    expect(verifyCapability(ring(rotated.current), "log", "apply-1", after, NOW)).toBe(true);
    expect(verifyCapability(ring(old), "log", "apply-1", after, NOW)).toBe(false);
    // Once the old key is dropped from the ring, what it minted is refused.
    expect(verifyCapability(ring(rotated.current), "log", "apply-1", before, NOW)).toBe(false);
  });

  it("refuses a secret minted under a key the ring does not hold", () => {
    const secret = mintCapability(ring(), "upload", "cv-1", 60_000, NOW);
    expect(checkCapability(keys, "upload", "cv-1", secret, NOW)).toBe("invalid");
  });

  it("mints until an instant, rounded up to the second", () => {
    const secret = mintCapabilityUntil(keys, "job", "run-1/plan", later(1_500));
    expect(parseInt(secret.split(".")[0]!, 36) * 1000).toBe(later(2_000).getTime());
    expect(verifyCapability(keys, "job", "run-1/plan", secret, later(1_999))).toBe(true);
    expect(verifyCapability(keys, "job", "run-1/plan", secret, later(2_000))).toBe(false);
  });

  it("keeps a live log URL longer than the longest default phase", () => {
    expect(CAPABILITY_TTL_MS.liveLog).toBeGreaterThan(24 * 3_600_000);
    expect(CAPABILITY_TTL_MS.upload).toBeLessThanOrEqual(3_600_000);
  });
});

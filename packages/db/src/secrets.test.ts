import { randomBytes } from "node:crypto";
import { decryptValue, encryptValue } from "./secrets";

const newKey = () => randomBytes(32).toString("base64url");

describe("sensitive value encryption", () => {
  it("decrypts under the current key, and under an old one after a rotation", () => {
    const old = newKey();
    const current = newKey();
    const before = encryptValue("s3cret", old);
    expect(decryptValue(before, { current: old, previous: [] })).toBe("s3cret");
    expect(decryptValue(before, { current, previous: [old] })).toBe("s3cret");
    const after = encryptValue("n3w", current);
    expect(decryptValue(after, { current, previous: [old] })).toBe("n3w");
  });

  it("refuses a value no configured key encrypted, naming the variables", () => {
    const stored = encryptValue("s3cret", newKey());
    expect(() => decryptValue(stored, { current: newKey(), previous: [newKey()] })).toThrow(/TARMAC_ENCRYPTION_KEY/);
  });
});

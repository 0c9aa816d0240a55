import { hashPassword, verifyPassword, validateNewPassword } from "./passwords";

describe("password hashing", () => {
  it("verifies the password it hashed and nothing else, with a salt per hash", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery staple", a)).toBe(true);
    expect(await verifyPassword("correct horse battery staplE", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });

  it("treats the same text in composed and decomposed Unicode as one password", async () => {
    const h = await hashPassword("caf\u00e9-pass");
    expect(await verifyPassword("cafe\u0301-pass", h)).toBe(true);
  });

  it("answers false, not an error, with no stored hash or a malformed one", async () => {
    expect(await verifyPassword("whatever-password", null)).toBe(false);
    expect(await verifyPassword("whatever-password", "plain-text")).toBe(false);
    expect(await verifyPassword("whatever-password", "scrypt$x$8$1$aa$bb")).toBe(false);
  });

  it("refuses passwords shorter than 8 characters with a 422 pointing at the attribute", () => {
    expect(() => validateNewPassword("short12", "/data/attributes/password")).toThrow(
      expect.objectContaining({ status: 422, source: { pointer: "/data/attributes/password" } }),
    );
    expect(() => validateNewPassword("12345678", "/data/attributes/password")).not.toThrow();
  });
});

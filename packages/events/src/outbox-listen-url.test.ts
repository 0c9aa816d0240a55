import { isPooledUrl, outboxListenUrl } from "./outbox-listen-url";

describe("outboxListenUrl", () => {
  const direct = "postgresql://postgres@db:5432/tarmac";
  const pooled = "postgresql://postgres@pgbouncer:6432/tarmac?pgbouncer=true";

  it("listens on the direct URL whenever one is given", () => {
    expect(outboxListenUrl({ databaseUrl: pooled, directUrl: direct })).toBe(direct);
    expect(outboxListenUrl({ databaseUrl: direct, directUrl: "postgresql://other:5432/tarmac" })).toBe("postgresql://other:5432/tarmac");
  });

  it("listens on DATABASE_URL when it reaches PostgreSQL itself", () => {
    expect(outboxListenUrl({ databaseUrl: direct })).toBe(direct);
    expect(outboxListenUrl({ databaseUrl: `${direct}?pgbouncer=false`, directUrl: undefined })).toBe(`${direct}?pgbouncer=false`);
  });

  it("does not listen through a transaction-mode pooler: the relay polls instead", () => {
    expect(outboxListenUrl({ databaseUrl: pooled })).toBeUndefined();
    expect(isPooledUrl(pooled)).toBe(true);
    expect(isPooledUrl("postgresql://pgbouncer:6432/tarmac?sslmode=require&pgbouncer=true")).toBe(true);
    expect(isPooledUrl(direct)).toBe(false);
  });
});

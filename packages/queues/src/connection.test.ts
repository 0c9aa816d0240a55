import { Cluster, Redis } from "ioredis";
import { bullConnection, createRedisClient, queueKeyPrefix } from "./connection";

describe("queueKeyPrefix", () => {
  it("wraps a plain prefix in a hash tag, so a queue's keys share one cluster slot", () => {
    expect(queueKeyPrefix("tarmac")).toBe("{tarmac}");
  });

  it("keeps a prefix that already holds a hash tag, and is idempotent", () => {
    expect(queueKeyPrefix("prod:{tarmac}")).toBe("prod:{tarmac}");
    expect(queueKeyPrefix(queueKeyPrefix("t1"))).toBe("{t1}");
    // An empty tag hashes the whole key in Redis: it is not a tag.
    expect(queueKeyPrefix("a{}")).toBe("{a{}}");
  });
});

describe("createRedisClient", () => {
  const opts = { lazyConnect: true };

  it("makes a cluster client for a cluster target, with the credentials on every node", async () => {
    const client = createRedisClient({ mode: "cluster", nodes: [{ host: "127.0.0.1", port: 1 }], auth: { tls: false, password: "pw" } }, opts);
    expect(client).toBeInstanceOf(Cluster);
    expect((client as Cluster).options.redisOptions).toMatchObject({ password: "pw", lazyConnect: true });
    client.disconnect();
  });

  it("makes a Sentinel client for a sentinel target", () => {
    const client = createRedisClient({ mode: "sentinel", sentinels: [{ host: "127.0.0.1", port: 1 }], name: "main", auth: { tls: false, db: 2 } }, opts);
    expect(client).toBeInstanceOf(Redis);
    expect((client as Redis).options).toMatchObject({ name: "main", db: 2, sentinels: [{ host: "127.0.0.1", port: 1 }] });
    client.disconnect();
  });

  it("hands BullMQ options for one node and Sentinel, and a client of its own for a cluster", async () => {
    expect(bullConnection({ mode: "single", url: "redis://127.0.0.1:1" }).connection).toEqual({ url: "redis://127.0.0.1:1", maxRetriesPerRequest: null });
    const sentinel = bullConnection({ mode: "sentinel", sentinels: [{ host: "127.0.0.1", port: 1 }], name: "main", auth: { tls: false } });
    expect(sentinel.connection).toMatchObject({ name: "main", maxRetriesPerRequest: null });
    const cluster = bullConnection({ mode: "cluster", nodes: [{ host: "127.0.0.1", port: 1 }], auth: { tls: false } });
    expect(cluster.connection).toBeInstanceOf(Cluster);
    expect((cluster.connection as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    await cluster.close();
  });
});

import { z } from "zod";
import { ConfigError, databaseEnv, natsEnv, parseEnv, redisEnv, redisTarget } from "./index";

const schema = z.object({ ...redisEnv, ...natsEnv, ...databaseEnv });
const load = (env: Record<string, string>) => parseEnv(schema, env);

describe("redisTarget", () => {
  it("is one node from REDIS_URL when no cluster or sentinels are configured", () => {
    expect(redisTarget(load({ REDIS_URL: "redis://cache:6380/2" }))).toEqual({ mode: "single", url: "redis://cache:6380/2" });
  });

  it("reads cluster seed nodes, with the first entry's credentials and scheme for every node", () => {
    const env = load({ REDIS_CLUSTER_NODES: "rediss://app:s3cret@r1:7000, r2:7001,[::1]:7002" });
    expect(redisTarget(env)).toEqual({
      mode: "cluster",
      nodes: [
        { host: "r1", port: 7000 },
        { host: "r2", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      auth: { tls: true, username: "app", password: "s3cret" },
    });
  });

  it("reads sentinels and the primary's name, with the primary's credentials and db from REDIS_URL", () => {
    const env = load({ REDIS_URL: "redis://:pw@ignored:6379/3", REDIS_SENTINELS: "s1:26379,s2:26379", REDIS_SENTINEL_NAME: "tarmac" });
    expect(redisTarget(env)).toEqual({
      mode: "sentinel",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26379 },
      ],
      name: "tarmac",
      auth: { tls: false, password: "pw", db: 3 },
    });
  });

  it("refuses a node that is not host:port or a redis URL, naming the variable", () => {
    expect(() => load({ REDIS_CLUSTER_NODES: "r1:7000,nats://r2:7001" })).toThrow(/REDIS_CLUSTER_NODES: expected host:port or a redis:\/\/ URL, got "nats:\/\/r2:7001"/);
    expect(() => load({ REDIS_SENTINELS: "s1" })).toThrow(/REDIS_SENTINELS/);
    expect(() => load({ REDIS_CLUSTER_NODES: "r1:70000" })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it("refuses a cluster and sentinels at once", () => {
    const env = load({ REDIS_CLUSTER_NODES: "r1:7000", REDIS_SENTINELS: "s1:26379" });
    expect(() => redisTarget(env)).toThrow(ConfigError);
  });
});

describe("NATS cluster settings", () => {
  it("accepts several server URLs and a replica count of 1 to 5", () => {
    const env = load({ NATS_URL: "nats://n1:4222, nats://n2:4222,tls://n3:4222", NATS_STREAM_REPLICAS: "3" });
    expect(env.NATS_URL).toBe("nats://n1:4222,nats://n2:4222,tls://n3:4222");
    expect(env.NATS_STREAM_REPLICAS).toBe(3);
  });

  it("refuses a bad server in the list and a replica count JetStream does not allow", () => {
    expect(() => load({ NATS_URL: "nats://n1:4222,redis://n2:6379" })).toThrow(/NATS_URL/);
    expect(() => load({ NATS_STREAM_REPLICAS: "0" })).toThrow(/NATS_STREAM_REPLICAS: expected an integer between 1 and 5/);
    expect(() => load({ NATS_STREAM_REPLICAS: "7" })).toThrow(/NATS_STREAM_REPLICAS/);
  });
});

describe("DATABASE_DIRECT_URL", () => {
  it("is optional and must be a PostgreSQL URL", () => {
    expect(load({}).DATABASE_DIRECT_URL).toBeUndefined();
    expect(load({ DATABASE_DIRECT_URL: "postgresql://db:5432/tarmac" }).DATABASE_DIRECT_URL).toBe("postgresql://db:5432/tarmac");
    expect(() => load({ DATABASE_DIRECT_URL: "mysql://db/tarmac" })).toThrow(/DATABASE_DIRECT_URL/);
  });
});

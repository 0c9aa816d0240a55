/** One jest run covers every workspace; each file isolates itself (own database, queue prefix, stream). */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/apps", "<rootDir>/packages", "<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // The failover-under-load suite starts a Redis Cluster, a NATS cluster, PgBouncer and seven
  // processes, and takes minutes of both cores: `npm run test:scale` runs it
  // (TARMAC_SCALE_SUITE=1), see README "Scale-out".
  testPathIgnorePatterns: [
    "/node_modules/",
    "/generated/",
    ...(process.env.TARMAC_SCALE_SUITE === "1" ? [] : ["<rootDir>/tests/scale/failover-under-load.test.ts"]),
  ],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }],
  },
  globalSetup: "<rootDir>/packages/testing/src/global-setup.ts",
  maxWorkers: 2,
  testTimeout: 30000,
};

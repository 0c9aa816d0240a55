import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { createDb, inTransaction, queryRows, type Db } from "./client";
import { Prisma } from "./generated/prisma/client";

/**
 * JIT compilation is off on the app's connections: the run list page's estimated cost passes
 * jit_above_cost, and compiling it cost ~20 ms of a 0.5 ms read.
 */
describe("the app's database connections", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it("run without JIT compilation, through queryRows, Prisma and transactions alike", async () => {
    const db: Db = createDb({ databaseUrl: database.url, poolSize: 2 });
    try {
      const [server] = await queryRows<{ jit: string }>(db, Prisma.sql`SELECT current_setting('jit', true) AS jit`);
      // A server built without JIT support reports it off anyway; the setting is what we check.
      expect(server?.jit).toBe("off");
      const viaPrisma = await db.$queryRaw<{ jit: string }[]>`SELECT current_setting('jit', true) AS jit`;
      expect(viaPrisma[0]?.jit).toBe("off");
      const inTx = await inTransaction(db, (tx) => queryRows<{ jit: string }>(tx, Prisma.sql`SELECT current_setting('jit', true) AS jit`));
      expect(inTx[0]?.jit).toBe("off");
    } finally {
      await db.$disconnect();
    }
  });

});

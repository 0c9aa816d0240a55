import { ensureTemplateDatabase } from "./database";

/** Runs once per jest run: builds the migrated template database every test file copies. */
export default async function globalSetup(): Promise<void> {
  process.env.TARMAC_TEST_TEMPLATE_DB = await ensureTemplateDatabase();
}

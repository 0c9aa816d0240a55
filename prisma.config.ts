// Prisma CLI configuration. The CLI uses its bundled WebAssembly schema engine
// through the pg driver adapter, because native engines cannot be downloaded
// on our machines (see CONTRIBUTING.md).
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

const defaultUrl = "postgresql://postgres@127.0.0.1:5432/tarmac";
process.env.DATABASE_URL ??= defaultUrl;

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL ?? defaultUrl }),
});

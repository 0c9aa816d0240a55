export { createDb, pingDb, inTransaction, type Db, type Tx, type DbOptions } from "./client";
export * from "./outbox";
export * from "./secrets";
export * from "./blobs";
export * from "./runs";
// Row and enum types for callers; the client itself stays behind this package.
export type * from "./generated/prisma/models";
export { Prisma } from "./generated/prisma/client";
export * as enums from "./generated/prisma/enums";
export * as auth from "./repositories/auth";
export type { TokenOwner } from "./repositories/auth";
export * as workspacesRepo from "./repositories/workspaces";
export * as runsRead from "./repositories/runs-read";
export * as runsWrite from "./repositories/runs-write";
export * as runLists from "./repositories/run-lists";
export * as runEventsRepo from "./repositories/run-events";
export * as jobsRepo from "./repositories/jobs";
export * as configurationVersionsRepo from "./repositories/configuration-versions";
export * as stateVersionsRepo from "./repositories/state-versions";

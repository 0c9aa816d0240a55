export * from "./subjects";
export * from "./events";
export * from "./jobs";
export * from "./capabilities";
export * from "./job-spec";
export * from "./agent-protocol";

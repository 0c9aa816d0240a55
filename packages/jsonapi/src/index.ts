export * from "./document";
export * from "./errors";
export * from "./pagination";
export * from "./query";

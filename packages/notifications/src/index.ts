export * from "./triggers";
export * from "./payloads";
export * from "./send";

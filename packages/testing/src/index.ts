export * from "./database";
export * from "./wait";
export * from "./processes";
export * from "./api-client";
export * from "./gateway-env";
export * from "./certificates";
export * from "./fixtures";
export * from "./receivers";

export { ConfigError, parseEnv } from "./parse-env";
export type { ConfigIssue, Env } from "./parse-env";
export { LOG_LEVELS, bool, describeValue, durationMs, envNameList, logLevel, niceness, port, positiveInt, url } from "./fields";
export type { EnvField, LogLevel, PortOptions, UrlOptions } from "./fields";
export {
  NATS_PROTOCOLS,
  POSTGRES_PROTOCOLS,
  REDIS_PROTOCOLS,
  commonEnv,
  databaseEnv,
  natsEnv,
  redisEnv,
} from "./common-env";
export {
  DEFAULT_KEY_FILE,
  MIN_KEY_LENGTH,
  PUBLIC_KEYS,
  deploymentKeyEnv,
  isProduction,
  readOrCreateKeyFile,
  resolveDeploymentKeys,
} from "./deployment-keys";
export type { DeploymentKeyInput, DeploymentKeys } from "./deployment-keys";
export { notificationSendEnv, smtpSettingsOf } from "./notification-env";
export type { NotificationSendInput } from "./notification-env";
export { redisNodeList, redisTarget, redisTopologyEnv } from "./redis-target";
export type { RedisAuth, RedisNode, RedisTarget, RedisTopologyEnv } from "./redis-target";

export { type Cli, type CliIo, type CliSpec, EXIT_USAGE, Progress, parseCli } from './cli.ts';
export {
  ConfigError,
  type ConfigSource,
  type CrossRule,
  EXIT_CONFIG,
  loadConfig,
  loadConfigOrExit,
  readConfigFile,
} from './load.ts';
export { REDACTED, redactCredentials, redactUrl } from './redact.ts';
export { REFERENCE_END, REFERENCE_START, renderReference, settingGroups } from './reference.ts';
export {
  isPlaceholder,
  isPublishedSecret,
  PUBLISHED_SECRETS,
  productionSecretProblem,
  productionUrlProblem,
} from './secrets.ts';
export {
  bool,
  type ConfigOf,
  int,
  list,
  ms,
  oneOf,
  optionalStr,
  port,
  type Setting,
  type SettingsSpec,
  seconds,
  str,
  url,
} from './setting.ts';
export {
  authSettings,
  DEVELOPMENT_JWT_SECRET,
  devTokenSettings,
  JWT_ALGORITHMS,
  managementSettings,
  requireJwtKey,
  requireServiceTokenKey,
} from './settings/auth.ts';
export { benchSettings } from './settings/bench.ts';
export { busSettings } from './settings/bus.ts';
export { cacheSettings } from './settings/cache.ts';
export { chaosSettings } from './settings/chaos.ts';
export { commonSettings } from './settings/common.ts';
export { consoleSettings } from './settings/console.ts';
export { gatewaySettings, testDropOnlyInTest } from './settings/gateway.ts';
export {
  informerSettings,
  renewWithinLeaseTtl,
  requireApiServerHostsInProduction,
} from './settings/informer.ts';
export { kubeDemoSettings } from './settings/kube-demo.ts';
export { soakSettings } from './settings/soak.ts';
export { heartbeatWithinPodStateTtl, statefulSettings } from './settings/stateful.ts';
export {
  databaseSettings,
  type RedisConfig,
  type RedisConnectionOptions,
  redisConnectionOptions,
  redisSettings,
} from './settings/stores.ts';
export { websiteApiSettings } from './settings/website-api.ts';

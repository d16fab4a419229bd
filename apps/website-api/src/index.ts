export { EVENT_LOG_LOCK_CLASS, PostgresEventLog, type RetentionPolicy } from './adapters/event-log.ts';
export { PrismaWebsiteStore } from './adapters/prisma-website-store.ts';
export { EventRelay } from './adapters/relay.ts';
export { type StartWebsiteApiOptions, startWebsiteApi, type WebsiteApi } from './app.ts';
export {
  rules as websiteApiRules,
  settings as websiteApiConfigSettings,
  type WebsiteApiConfig,
} from './config.ts';
export { WebsiteApiError } from './domain/errors.ts';
export type { ReplayRequest, WebsiteLogReader, WebsiteStore } from './domain/ports.ts';

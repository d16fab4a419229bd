export { createDatabase, type Database, type DatabaseOptions } from './client.ts';
export type {
  LineGroup,
  Website,
  WebsiteDomain,
  WsEvent,
  WsLogMeta,
  WsRelayState,
} from './generated/prisma/client.ts';
export { Prisma, PrismaClient } from './generated/prisma/client.ts';
export { WebsiteStatus, WsEventType } from './generated/prisma/enums.ts';
export {
  MIGRATIONS_DIR,
  MIGRATIONS_TABLE,
  type MigrateOptions,
  MigrationError,
  type MigrationFile,
  migrate,
  readMigrations,
} from './migrator.ts';
export type { RawStatements, StatementRunner } from './statements.ts';

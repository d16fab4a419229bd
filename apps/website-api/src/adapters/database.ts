import type { ConfigOf, databaseSettings } from '@tideline/config';
import { createDatabase, type Database, migrate } from '@tideline/db';

type DatabaseConfig = ConfigOf<typeof databaseSettings>;

/** Creates the configured database when missing and applies pending migrations; returns their names. */
export function migrateDatabase(config: DatabaseConfig): Promise<string[]> {
  return migrate({
    url: config.databaseUrl,
    createDatabase: true,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
  });
}

/** Opens the configured database with its timeouts and pool bound (`poolMax` overrides the setting). */
export function openDatabase(
  config: DatabaseConfig,
  options: { applicationName: string; poolMax?: number; onIdleError?: (error: Error) => void },
): Database {
  return createDatabase({
    url: config.databaseUrl,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    poolMax: options.poolMax ?? config.databasePoolMax,
    transactionTimeoutMs: config.databaseTransactionTimeoutMs,
    transactionMaxWaitMs: config.databaseTransactionMaxWaitMs,
    applicationName: options.applicationName,
    ...(options.onIdleError ? { onIdleError: options.onIdleError } : {}),
  });
}

/**
 * `npm run db:migrate`, and the image's `migrate` service: applies the pending migrations to
 * TIDELINE_DATABASE_URL (creating the database), retrying while PostgreSQL is not reachable.
 */
import { databaseSettings, loadConfigOrExit, parseCli, redactCredentials } from '@tideline/config';
import { MigrationError, migrate } from './migrator.ts';

parseCli({
  name: 'npm run db:migrate --',
  usage: `(no arguments)

Applies the pending migrations to TIDELINE_DATABASE_URL, creating the database when it is missing;
retries (TIDELINE_DATABASE_MIGRATE_ATTEMPTS) while PostgreSQL cannot be reached.
  -h, --help    this text`,
  options: {},
});
const config = loadConfigOrExit(databaseSettings);
const target = new URL(config.databaseUrl);
target.password = '';
const where = `${target.host}${target.pathname}`;

// Retried while PostgreSQL cannot be reached or refuses (a container started right after its
// database's health check may still meet a restart); a migration failing on its own SQL is not.
for (let attempt = 1; ; attempt++) {
  try {
    const applied = await migrate({
      url: config.databaseUrl,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      createDatabase: true,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(
      `${where}: ${applied.length === 0 ? 'up to date' : `${applied.length} migration(s) applied`}\n`,
    );
    break;
  } catch (error) {
    const message = redactCredentials((error as Error).message);
    if (error instanceof MigrationError || attempt >= config.databaseMigrateAttempts) {
      process.stderr.write(`migration failed (attempt ${attempt}): ${message}\n`);
      process.exit(1);
    }
    process.stderr.write(
      `${where} not ready (attempt ${attempt} of ${config.databaseMigrateAttempts}): ${message}; retrying\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, config.databaseMigrateRetryIntervalMs));
  }
}

/**
 * The image's `migrate` service: applies the pending migrations to TIDELINE_DATABASE_URL (as
 * `npm run db:migrate` does), retrying while PostgreSQL cannot be reached or refuses — a container
 * started right after its database's health check may still meet a restart. A migration that fails
 * on its own SQL (MigrationError) is not retried. Exits 0 once the schema is up to date.
 */
import { databaseSettings, loadConfigOrExit, redactCredentials } from '@tideline/config';
import { MigrationError, migrate } from '@tideline/db';

const config = loadConfigOrExit(databaseSettings);
const target = new URL(config.databaseUrl);
target.password = '';
const where = `${target.host}${target.pathname}`;

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
    process.exit(0);
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

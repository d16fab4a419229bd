/** `npm run db:migrate`: applies the pending migrations to TIDELINE_DATABASE_URL (creating the database). */
import { databaseSettings, loadConfigOrExit, parseCli } from '@tideline/config';
import { migrate } from './migrator.ts';

parseCli({
  name: 'npm run db:migrate --',
  usage: `(no arguments)

Applies the pending migrations to TIDELINE_DATABASE_URL, creating the database when it is missing.
  -h, --help    this text`,
  options: {},
});
const config = loadConfigOrExit(databaseSettings);
const target = new URL(config.databaseUrl);
target.password = '';
try {
  const applied = await migrate({
    url: config.databaseUrl,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    createDatabase: true,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    `${target.host}${target.pathname}: ${applied.length === 0 ? 'up to date' : `${applied.length} migration(s) applied`}\n`,
  );
} catch (error) {
  process.stderr.write(`migration failed: ${(error as Error).message}\n`);
  process.exit(1);
}

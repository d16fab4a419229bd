import { databaseSettings, loadConfigOrExit } from '@tideline/config';
import { migrate } from './migrator.ts';

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

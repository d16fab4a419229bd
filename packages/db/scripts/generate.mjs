// Generates the Prisma client (src/generated/prisma) offline. Runs on `npm install`/`npm ci`
// (postinstall) and as `npm run db:generate`.
//
// `prisma generate` needs no schema engine (the client is generated from the WASM schema parser
// bundled in the CLI), but the CLI still tries to download the schema-engine binary first, which
// cannot be fetched on an offline machine. Pointing PRISMA_SCHEMA_ENGINE_BINARY at a stub that
// refuses to run skips that download; a command that really needs the engine (`prisma migrate`)
// then fails loudly instead of half-working. Migrations are plain SQL (../migrations) applied by
// our own migrator (`npm run db:migrate`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const result = spawnSync(
  process.execPath,
  [cli, 'generate', '--schema', join(root, 'prisma', 'schema.prisma')],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: join(root, 'scripts', 'schema-engine-unavailable.sh'),
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  },
);
process.exit(result.status ?? 1);

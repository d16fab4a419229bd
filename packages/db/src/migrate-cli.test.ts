import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE } from '@tideline/config';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('./migrate-cli.ts', import.meta.url));
// An address nothing listens on: if the CLI tried to migrate, it would fail with exit 1, not 0 or 2.
const env = { ...process.env, TIDELINE_DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' };
const spawn = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env });

/** Each case spawns a Node process with tsx: seconds each on a loaded machine. */
const SPAWN_TIMEOUT_MS = 60_000;

describe('migrate CLI', () => {
  it(
    'migrate CLI - --help prints usage and exits 0 without touching a database',
    () => {
      const result = spawn(['--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^usage: npm run db:migrate -- /);
      expect(result.stderr).toBe('');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'migrate CLI - an unknown option or an argument exits 2 with one line, migrating nothing',
    () => {
      for (const args of [['--force'], ['down']]) {
        const result = spawn(args);
        expect(result.status, args.join(' ')).toBe(EXIT_USAGE);
        expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(result.stderr).toMatch(/^npm run db:migrate --: .+ \(see --help\)\n$/);
        expect(result.stdout).toBe('');
      }
    },
    SPAWN_TIMEOUT_MS,
  );
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE } from '@tideline/config';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('./seed-cli.ts', import.meta.url));
// An address nothing listens on: if the CLI tried to seed, it would fail with exit 1, not 0 or 2.
const env = { ...process.env, TIDELINE_DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' };
const spawn = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env });

/** Each case spawns a Node process with tsx: seconds each on a loaded machine. */
const SPAWN_TIMEOUT_MS = 60_000;

describe('seed CLI', () => {
  it(
    'seed CLI - --help prints usage and exits 0 without touching a database',
    () => {
      const result = spawn(['--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^usage: npm run seed -- \[--websites <n>\]/);
      expect(result.stdout).toContain('a whole number from 0 to 1000000');
      expect(result.stderr).toBe('');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'seed CLI - unknown options and bad counts exit 2 with one line, seeding nothing',
    () => {
      for (const args of [
        ['--sites', '5'],
        ['--websites', 'many'],
        ['--websites', '1.5'],
        ['--websites', '2000000'],
        ['--line-groups', '0'],
        ['5'],
      ]) {
        const result = spawn(args);
        expect(result.status, args.join(' ')).toBe(EXIT_USAGE);
        expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(result.stderr, args.join(' ')).toMatch(/^npm run seed --: .+ \(see --help\)\n$/);
        expect(result.stdout).toBe('');
      }
    },
    SPAWN_TIMEOUT_MS,
  );
});

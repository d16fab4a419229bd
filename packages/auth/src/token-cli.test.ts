import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE } from '@tideline/config';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('./token-cli.ts', import.meta.url));
const spawn = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TIDELINE_JWT_SECRET: '', TIDELINE_ENV: 'test' },
  });

/** Each case spawns a Node process with tsx: seconds each on a loaded machine. */
const SPAWN_TIMEOUT_MS = 60_000;

describe('token CLI', () => {
  it(
    'token CLI - --help prints usage and exits 0',
    () => {
      const result = spawn(['--help']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^usage: npm run token -- --sub <user>/);
      expect(result.stdout).toContain('--ttl <seconds>');
      expect(result.stderr).toBe('');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'token CLI - unknown options, a missing --sub, --ttl abc and a malformed scope each exit 2 with one line, no token',
    () => {
      for (const args of [
        ['--sub', 'dev', '--nope'],
        [],
        ['--sub', 'dev', '--ttl', 'abc'],
        ['--sub', 'dev', '--ttl', '-5'],
        ['--sub', 'dev', '--scope', 'all the things'],
      ]) {
        const result = spawn(args);
        const what = args.join(' ') || '(none)';
        expect(result.status, what).toBe(EXIT_USAGE);
        expect(result.stderr.trim().split('\n'), what).toHaveLength(1);
        expect(result.stderr, what).toMatch(/^npm run token --: .+ \(see --help\)$/m);
        expect(result.stderr, what).not.toMatch(/ERR_PARSE_ARGS|jsonwebtoken|\n\s+at /);
        expect(result.stdout, what).toBe('');
      }
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'token CLI - good arguments print one token',
    () => {
      const result = spawn(['--sub', 'dev', '--ttl', '60', '--scope', 'websites:read']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    },
    SPAWN_TIMEOUT_MS,
  );
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DEVELOPMENT_JWT_SECRET, EXIT_CONFIG } from '@tideline/config';
import { testServiceEnv, uniquePrefix } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/process.ts';

const SERVICES = ['website-api', 'cache', 'informer', 'push-gateway'] as const;
/** Four processes starting tsx at once on a shared machine. */
const SPAWN_TIMEOUT_MS = 120_000;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a service's real process entry (`apps/<name>/src/main.ts`) to its exit. */
function runMain(service: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'apps', service, 'src', 'main.ts')],
      { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: SPAWN_TIMEOUT_MS },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
    );
  });
}

describe('production key', () => {
  it(
    'production - every service refuses to start on the development key',
    async () => {
      const env = {
        ...testServiceEnv(uniquePrefix('prodkey')),
        TIDELINE_ENV: 'production',
        TIDELINE_JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      };
      const exits = await Promise.all(SERVICES.map((service) => runMain(service, env)));
      for (const [index, exit] of exits.entries()) {
        const service = SERVICES[index];
        expect(exit.code, service).toBe(EXIT_CONFIG);
        expect(exit.stderr.trimEnd().split('\n'), service).toEqual([
          'config error: TIDELINE_JWT_SECRET: must be a key of your own outside development/test, not the published development key (got (hidden))',
        ]);
        expect(exit.stdout + exit.stderr, service).not.toContain(DEVELOPMENT_JWT_SECRET);
      }
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'production - a service secret equal to the development key stops every service too',
    async () => {
      const env = {
        ...testServiceEnv(uniquePrefix('prodkey')),
        TIDELINE_ENV: 'production',
        TIDELINE_JWT_JWKS_URL: 'https://idp.example/jwks.json',
        TIDELINE_SERVICE_JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      };
      const exits = await Promise.all(SERVICES.map((service) => runMain(service, env)));
      for (const [index, exit] of exits.entries()) {
        const service = SERVICES[index];
        expect(exit.code, service).toBe(EXIT_CONFIG);
        expect(exit.stderr.trimEnd().split('\n'), service).toEqual([
          'config error: TIDELINE_SERVICE_JWT_SECRET: must be a key of your own outside development/test, not the published development key (got (hidden))',
        ]);
        expect(exit.stdout + exit.stderr, service).not.toContain(DEVELOPMENT_JWT_SECRET);
      }
    },
    SPAWN_TIMEOUT_MS,
  );
});

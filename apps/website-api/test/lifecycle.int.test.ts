import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@tideline/config';
import { eventually, TestDatabase } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { startWebsiteApi } from '../src/service.ts';
import { ApiFixture, holdTopicLock, testEnv, topicLocks, uniquePrefix } from './harness.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function runScript(script: string, args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('website-api lifecycle and tools', () => {
  it('stop - running requests finish and commit, new ones are refused with 503, then the service is gone', async () => {
    const fx = await ApiFixture.start();
    try {
      const lineGroupId = (await fx.lineGroup('stop')).id;
      const holder = await fx.sql.connect();
      const release = await holdTopicLock(holder);
      try {
        const inFlight = fx.call('POST', '/api/v1/websites/create', {
          body: { domains: ['in-flight.example.com'], line_group_id: lineGroupId },
        });
        expect(await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === 1, 5_000)).toBe(true);
        const stopping = fx.stopService();
        await new Promise((resolve) => setTimeout(resolve, 100));
        const refused = await fx.call('POST', '/api/v1/websites/create', {
          body: { domains: ['too-late.example.com'], line_group_id: lineGroupId },
        });
        expect(refused.status).toBe(503);
        expect(refused.body.error.code).toBe('UNAVAILABLE');
        await release();
        expect((await inFlight).status).toBe(201);
        await stopping;
      } finally {
        holder.release();
      }
      expect(await fx.query(`SELECT payload->>'primary_domain' AS domain FROM ws_events`)).toEqual([
        { domain: 'in-flight.example.com' },
      ]);
      await expect(fetch(`${fx.api.url}/healthz`)).rejects.toThrow();
    } finally {
      await fx.dispose();
    }
  });

  it('config - an invalid setting stops the start with a ConfigError naming the variable', async () => {
    const database = await TestDatabase.create('tideline_wsapi_cfg');
    try {
      const env = testEnv(database, uniquePrefix('cfg'), { TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: 'often' });
      const failure = startWebsiteApi({ source: { env } });
      await expect(failure).rejects.toBeInstanceOf(ConfigError);
      await expect(failure).rejects.toThrow(/TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS/);
      const production = startWebsiteApi({
        source: { env: { ...testEnv(database, uniquePrefix('cfg')), TIDELINE_ENV: 'production' } },
      });
      await expect(production).rejects.toThrow(/TIDELINE_JWT_SECRET/);
    } finally {
      await database[Symbol.asyncDispose]();
    }
  });

  it('tools - `npm run seed` creates line groups and N websites with their events; a `npm run token` token reads them', async () => {
    const database = await TestDatabase.create('tideline_wsapi_seed');
    try {
      const seeded = runScript(
        'apps/website-api/src/seed-cli.ts',
        ['--websites', '7', '--line-groups', '2'],
        {
          TIDELINE_DATABASE_URL: database.url,
        },
      );
      expect(seeded.status, seeded.stderr).toBe(0);
      expect(seeded.stdout).toMatch(/seeded 7 websites on 2 line groups .* event log now at id 7/);
      const token = runScript(
        'packages/auth/src/token-cli.ts',
        ['--sub', 'seed-check', '--scope', 'websites:read'],
        {},
      );
      expect(token.status, token.stderr).toBe(0);
      const fx = await ApiFixture.start({ database });
      try {
        const list = await fx.call('GET', '/api/v1/websites?page_size=100', { token: token.stdout.trim() });
        expect(list.status).toBe(200);
        expect(list.body.total).toBe(7);
        expect(new Set(list.body.data.map((w: { line_group: { id: number } }) => w.line_group.id)).size).toBe(
          2,
        );
        expect(await fx.lastEventId()).toBe(7);
      } finally {
        await fx.dispose({ keepDatabase: true });
      }
    } finally {
      await database[Symbol.asyncDispose]();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { SCOPES } from '@tideline/auth';
import { createLogger, Registry } from '@tideline/runtime';
import { freePort, TestDatabase, testToken } from '@tideline/test-support';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisWriteCounter } from '../src/adapters/redis-write-counter.ts';
import { ApiFixture, uniquePrefix } from './harness.ts';

const WINDOW_MS = 60_000;
const fixtures: ApiFixture[] = [];

/** A website-api whose write limit is `max` per minute, counted under a key prefix of this test (or `keyPrefix`). */
async function limitedApi(
  max: number,
  options: { keyPrefix?: string; database?: TestDatabase; env?: Record<string, string> } = {},
): Promise<ApiFixture> {
  const fx = await ApiFixture.start({
    ...(options.database ? { database: options.database } : {}),
    env: {
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: String(max),
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX:
        options.keyPrefix ?? `test:${uniquePrefix('limit')}:writes:`,
      ...options.env,
    },
  });
  fixtures.push(fx);
  return fx;
}

afterEach(async () => {
  const all = fixtures.splice(0);
  // Replicas share a database: stop them all, then drop it once.
  for (const fx of all) await fx.stopService();
  const databases = new Set(all.map((fx) => fx.database));
  for (const fx of all) await fx.sql.end();
  for (const database of databases) await database[Symbol.asyncDispose]();
});

const writerToken = (sub: string) => testToken(sub, [SCOPES.websitesRead, SCOPES.websitesWrite]);

async function lineGroupRows(fx: ApiFixture): Promise<number> {
  const [row] = await fx.query<{ n: number }>('SELECT count(*)::int AS n FROM line_groups');
  return row!.n;
}

function createLineGroup(fx: ApiFixture, token: string | null) {
  const name = `lg-${randomUUID().slice(0, 8)}`;
  return fx.call('POST', '/api/v1/line-groups/create', {
    token,
    body: { name, cname: `${name}.cdn.example.net` },
  });
}

describe('website-api: write rate limit', () => {
  it('writes - a subject over its write limit gets 429 with Retry-After and writes nothing', async () => {
    const fx = await limitedApi(3);
    const token = writerToken(`flooder-${randomUUID()}`);
    for (let i = 0; i < 3; i++) expect((await createLineGroup(fx, token)).status).toBe(201);
    const before = await lineGroupRows(fx);
    const events = await fx.lastEventId();

    const response = await fetch(`${fx.baseUrl}/api/v1/line-groups/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'one-too-many', cname: 'one-too-many.cdn.example.net' }),
    });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.any(String), requestId: expect.any(String) },
    });

    // Every write route shares the one count; none of them writes.
    const update = await fx.call('POST', '/api/v1/websites/update', { token, body: { website_id: 1 } });
    expect(update.status).toBe(429);
    expect(await lineGroupRows(fx)).toBe(before);
    expect(await fx.lastEventId()).toBe(events);
    // Reads are not limited.
    expect((await fx.call('GET', '/api/v1/line-groups', { token })).status).toBe(200);
  });

  it('writes - a subject over its write limit does not limit another subject', async () => {
    const fx = await limitedApi(2);
    const flooder = writerToken(`flooder-${randomUUID()}`);
    for (let i = 0; i < 2; i++) expect((await createLineGroup(fx, flooder)).status).toBe(201);
    expect((await createLineGroup(fx, flooder)).status).toBe(429);
    const other = writerToken(`bystander-${randomUUID()}`);
    expect((await createLineGroup(fx, other)).status).toBe(201);
  });

  it('writes - two replicas share one limit', async () => {
    const database = await TestDatabase.create('tideline_wsapi');
    const keyPrefix = `test:${uniquePrefix('shared')}:writes:`;
    const a = await limitedApi(4, { database, keyPrefix });
    const b = await limitedApi(4, { database, keyPrefix });
    const token = writerToken(`flooder-${randomUUID()}`);
    expect((await createLineGroup(a, token)).status).toBe(201);
    expect((await createLineGroup(b, token)).status).toBe(201);
    expect((await createLineGroup(a, token)).status).toBe(201);
    expect((await createLineGroup(b, token)).status).toBe(201);
    const rows = await lineGroupRows(a);
    const [overA, overB] = [await createLineGroup(a, token), await createLineGroup(b, token)];
    expect([overA.status, overB.status]).toEqual([429, 429]);
    expect(overB.body.error.code).toBe('RATE_LIMITED');
    expect(await lineGroupRows(a)).toBe(rows);
  });

  it('writes - a flood without a valid token is limited by client address', async () => {
    const fx = await limitedApi(2);
    const forged = testToken('admin', [SCOPES.websitesWrite], { secret: 'not-the-key-'.repeat(4) });
    expect((await createLineGroup(fx, forged)).status).toBe(401);
    expect((await createLineGroup(fx, null)).status).toBe(401);
    const third = await createLineGroup(fx, forged);
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('RATE_LIMITED');
    // A forged token naming a subject does not take that subject's count.
    expect((await createLineGroup(fx, writerToken('admin'))).status).toBe(201);
  });

  it('writes - with Redis unreachable writes go through (fail open) and each is counted as a store failure', async () => {
    const closedPort = await freePort();
    const fx = await limitedApi(1, { env: { TIDELINE_REDIS_URL: `redis://127.0.0.1:${closedPort}` } });
    const token = writerToken(`writer-${randomUUID()}`);
    for (let i = 0; i < 3; i++) expect((await createLineGroup(fx, token)).status).toBe(201);
    const metrics = await (await fetch(`${fx.baseUrl}/metrics`)).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('tideline_website_api_rate_limit_store_failures_total'));
    expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(3);
    const ready = await fetch(`${fx.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { observed: Record<string, unknown> }).observed).toMatchObject({
      rateLimitStore: false,
    });
  });
});

describe('website-api: write reservations in Redis', () => {
  const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const counters: RedisWriteCounter[] = [];
  afterEach(async () => {
    for (const counter of counters.splice(0)) await counter.stop();
  });

  async function replica(keyPrefix: string, max: number, reserveMax: number): Promise<RedisWriteCounter> {
    const counter = new RedisWriteCounter({
      url: REDIS_URL,
      commandTimeoutMs: 2_000,
      keyPrefix,
      max,
      windowMs: WINDOW_MS,
      reserveMax,
      subjectsMax: 100,
      connectionName: 'rate-limit-test',
      logger: createLogger({ service: 'rate-limit-test', level: 'silent' }),
      metrics: new Registry(),
    });
    counters.push(counter);
    await counter.start();
    return counter;
  }

  it('writes - a flood spread over replicas, many at once, never gets more than the limit through', async () => {
    const keyPrefix = `test:${uniquePrefix('reserve')}:writes:`;
    const replicas = [
      await replica(keyPrefix, 300, 32),
      await replica(keyPrefix, 300, 32),
      await replica(keyPrefix, 300, 32),
    ];
    const numbers: number[] = [];
    for (let burst = 0; burst < 20; burst++) {
      const counts = await Promise.all(
        Array.from({ length: 30 }, (_, i) => replicas[(burst + i) % replicas.length]!.count('sub:flood')),
      );
      for (const count of counts) if (count.current <= 300) numbers.push(count.current);
    }
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(Math.max(...numbers)).toBeLessThanOrEqual(300);
    // Every replica kept writing, so every number granted was used.
    expect(numbers).toHaveLength(300);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.get(`${keyPrefix}sub:flood`)).toBe('300');
      const ttl = await redis.pttl(`${keyPrefix}sub:flood`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
    } finally {
      redis.disconnect();
    }
  });

  it('writes - the script grants a share of what is left, one at the end, none past the limit', async () => {
    const keyPrefix = `test:${uniquePrefix('script')}:writes:`;
    const counter = await replica(keyPrefix, 10, 32);
    const grants: number[] = [];
    for (;;) {
      const reservation = await counter.reserve('sub:s', 32);
      grants.push(reservation.granted);
      if (reservation.granted === 0) {
        expect(reservation.current).toBe(10);
        break;
      }
    }
    // A quarter of what is left (at least one): 10 → 2, 8 → 2, 6 → 1, …
    expect(grants).toEqual([2, 2, 1, 1, 1, 1, 1, 1, 0]);
  });
});

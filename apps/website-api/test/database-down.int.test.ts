import { eventually, FaultProxy, TestDatabase } from '@tideline/test-support';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiFixture, holdTopicLock, tokens, topicLocks } from './harness.ts';

/** website-api reaches PostgreSQL through a proxy the tests cut; assertions read the database directly. */
let database: TestDatabase;
let proxy: FaultProxy;
let fx: ApiFixture;
let lineGroupId: number;

beforeAll(async () => {
  database = await TestDatabase.create('tideline_wsapi_down');
  const direct = new URL(database.url);
  proxy = await FaultProxy.to(Number(direct.port || 5432));
  const proxied = new URL(database.url);
  proxied.port = String(proxy.port);
  fx = await ApiFixture.start({
    database,
    env: {
      TIDELINE_DATABASE_URL: proxied.toString(),
      TIDELINE_DATABASE_CONNECT_TIMEOUT_MS: '1000',
      TIDELINE_DATABASE_STATEMENT_TIMEOUT_MS: '1500',
    },
  });
  lineGroupId = (await fx.lineGroup('down')).id;
});
afterAll(async () => {
  proxy?.restore();
  await fx?.dispose({ keepDatabase: true });
  await proxy?.[Symbol.asyncDispose]();
  await database?.[Symbol.asyncDispose]();
});

async function snapshotOfTables() {
  const [row] = await fx.query(
    `SELECT (SELECT count(*)::int FROM websites) AS websites, (SELECT count(*)::int FROM website_domains) AS domains,
            (SELECT count(*)::int FROM ws_events) AS events, (SELECT last_event_id::int FROM ws_log_meta) AS last`,
  );
  return row!;
}

async function create(domain: string) {
  return fx.call('POST', '/api/v1/websites/create', {
    body: { domains: [domain], line_group_id: lineGroupId },
  });
}

describe('database down (invariant 8: never a partial write)', () => {
  it('down - with the database unreachable writes and reads answer 503 UNAVAILABLE and /readyz is 503; afterwards all is well', async () => {
    expect((await create('before-cut.example.com')).status).toBe(201);
    const before = await snapshotOfTables();
    proxy.cut();
    try {
      for (const answer of [
        await create('during-cut.example.com'),
        await fx.call('POST', '/api/v1/websites/update', { body: { website_id: 1, status: 'paused' } }),
        await fx.call('GET', '/api/v1/websites', { token: tokens.reader }),
        await fx.call('GET', '/internal/v1/websites/snapshot', { token: tokens.internal }),
      ]) {
        expect(answer.status).toBe(503);
        expect(answer.body.error.code).toBe('UNAVAILABLE');
      }
      const ready = await fetch(`${fx.api.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, boolean> }).checks['database']).toBe(false);
    } finally {
      proxy.restore();
    }
    expect(await snapshotOfTables()).toEqual(before);
    expect(
      await eventually(async () => (await fetch(`${fx.api.url}/readyz`)).status === 200, 10_000, 100),
    ).toBe(true);
    expect((await create('after-cut.example.com')).status).toBe(201);
    expect((await snapshotOfTables()).last).toBe(before.last + 1);
  });

  it('down - the connection dropping in the middle of a change (rows written, event pending) answers 503 and leaves nothing', async () => {
    const before = await snapshotOfTables();
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    // Writers take this lock after writing their rows: holding it freezes the request mid-transaction.
    const release = await holdTopicLock(holder);
    try {
      const pending = create('mid-transaction.example.com');
      expect(await eventually(async () => (await topicLocks(holder, 'waiting')) === 1, 5_000)).toBe(true);
      proxy.cut();
      const answer = await pending;
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('UNAVAILABLE');
    } finally {
      await release();
      await holder.end();
      proxy.restore();
    }
    // The half-done transaction was never committed: no website, no domain, no event, no id used.
    expect(
      await fx.query(`SELECT 1 FROM website_domains WHERE domain = 'mid-transaction.example.com'`),
    ).toEqual([]);
    expect(await snapshotOfTables()).toEqual(before);
    expect(
      await eventually(async () => (await create('after-drop.example.com')).status === 201, 10_000, 100),
    ).toBe(true);
    const [last] = await fx.query(`SELECT max(id)::int AS id FROM ws_events`);
    expect(last!.id).toBe(before.last + 1);
  });

  it('down - a statement stuck beyond the statement timeout is cancelled: 503 and nothing written', async () => {
    const before = await snapshotOfTables();
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    const release = await holdTopicLock(holder);
    try {
      const started = performance.now();
      const answer = await create('too-slow.example.com');
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('UNAVAILABLE');
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    } finally {
      await release();
      await holder.end();
    }
    expect(await snapshotOfTables()).toEqual(before);
  });
});

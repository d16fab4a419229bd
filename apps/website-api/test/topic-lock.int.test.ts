import { loadConfig } from '@tideline/config';
import { eventually, FaultProxy } from '@tideline/test-support';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/adapters/database.ts';
import { PostgresEventLog } from '../src/adapters/event-log/postgres-event-log.ts';
import { PostgresRelayState } from '../src/adapters/event-log/relay-state.ts';
import { PrismaWebsiteStore } from '../src/adapters/prisma-website-store.ts';
import { settings } from '../src/config.ts';
import { ApiFixture, holdTopicLock, openBus, readWebsiteStream, testEnv, topicLocks } from './harness.ts';

/**
 * The topic lock taken last: concurrent changes run their checks and writes side by side and take
 * turns only for the next event id, the event row and the commit (gap-free ids, no deadlock); and
 * the relay publishes this replica's events from memory, exactly as the log holds them.
 */
/** Changes issued at once by the tests below; the pool holds a connection for each. */
const CONCURRENT = 10;
let fx: ApiFixture;
let database: ReturnType<typeof openDatabase>;
let lineGroupId: number;

beforeAll(async () => {
  fx = await ApiFixture.start({});
  lineGroupId = (await fx.lineGroup('topic-lock')).id;
  database = openDatabase(loadConfig(settings, { env: testEnv(fx.database, fx.busPrefix) }), {
    applicationName: 'topic-lock-test',
    poolMax: CONCURRENT + 2,
  });
});
afterAll(async () => {
  await database?.close();
  await fx?.dispose();
});

/** A store of its own (the service's relay does not see its commits: the log keeps them). */
function store(): PrismaWebsiteStore {
  return new PrismaWebsiteStore({
    prisma: database.prisma,
    eventLog: new PostgresEventLog({ prisma: database.prisma }),
  });
}

/** The transaction (xmin) and payload of each event after `after`, in id order. */
async function eventsAfter(
  after: number,
): Promise<{ id: number; tx: string; type: string; payload: { website_id: number } }[]> {
  return fx.query(
    `SELECT id::int AS id, xmin::text AS tx, event_type::text AS type, payload FROM ws_events
      WHERE topic = 'websites' AND id > $1 ORDER BY id`,
    [after],
  );
}

const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const byNumber = (a: number, b: number) => a - b;

const site = (tag: string, i: number) => ({
  domains: [`www.${tag}-${i}.lock.example.com`],
  line_group_id: lineGroupId,
  https_enabled: false,
  status: 'active' as const,
});

describe('topic lock taken last', () => {
  it('topic lock - 20 changes issued at once: each commits in a transaction of its own, ids gap-free, each answer its own event', async () => {
    const one = store();
    const before = await fx.lastEventId();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => one.createWebsite(site('many', i))));
    const events = await eventsAfter(before);
    expect(events.map((e) => e.id)).toEqual(ids(before + 1, 20));
    expect(new Set(events.map((e) => e.tx)).size).toBe(20);
    expect(events.map((e) => e.payload.website_id).sort(byNumber)).toEqual(
      answers.map((a) => a.website_id).sort(byNumber),
    );
  });

  it('topic lock - writers take it after their checks and writes: while another process holds it, every one of 10 changes waits at once with its rows written and no event, then all commit gap-free', async () => {
    const holder = new pg.Client({ connectionString: fx.database.url });
    await holder.connect();
    try {
      const one = store();
      const before = await fx.lastEventId();
      const release = await holdTopicLock(holder);
      const writes = Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) => one.createWebsite(site('behind', i))),
      );
      // All of them got past their checks and inserts: none waits for another's turn in the process.
      expect(
        await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === CONCURRENT, 10_000),
      ).toBe(true);
      expect(await fx.lastEventId()).toBe(before);
      await release();
      const answers = await writes;
      const events = await eventsAfter(before);
      expect(events.map((e) => e.id)).toEqual(ids(before + 1, CONCURRENT));
      expect(events.map((e) => e.payload.website_id).sort(byNumber)).toEqual(
        answers.map((a) => a.website_id).sort(byNumber),
      );
    } finally {
      await holder.end();
    }
  });

  it('deadlock - changes racing for one domain and for one website while holding row and index locks: one create wins, the others answer CONFLICT, every update commits; no deadlock, ids gap-free', async () => {
    const one = store();
    const target = await one.createWebsite(site('raced', 0));
    const before = await fx.lastEventId();
    const contested = { ...site('contested', 0) };
    const creates = Array.from({ length: 5 }, () => one.createWebsite(contested));
    // Each replaces the website's domains: every one changes it, under its row lock.
    const updates = Array.from({ length: 5 }, (_, i) =>
      one.updateWebsite({ website_id: target.website_id, domains: [`www.raced-${i}.update.lock.example.com`] }),
    );
    const created = await Promise.allSettled(creates);
    const updated = await Promise.allSettled(updates);
    expect(created.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of created)
      if (o.status === 'rejected') expect((o.reason as { code?: string }).code).toBe('CONFLICT');
    expect(updated.map((o) => o.status)).toEqual(Array(5).fill('fulfilled'));
    const events = await eventsAfter(before);
    expect(events.map((e) => e.id)).toEqual(ids(before + 1, 6));
    expect(events.filter((e) => e.type === 'add')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'update')).toHaveLength(5);
    // The website ends as the last update event says.
    const last = events.filter((e) => e.type === 'update').at(-1)!.payload as unknown as { domains: string[] };
    expect((await one.getWebsite(target.website_id)).domains).toEqual(last.domains);
  });

  it('topic lock - a change the database refuses fails alone: the others issued with it commit, ids stay gap-free', async () => {
    const one = store();
    const before = await fx.lastEventId();
    // 300 characters: longer than website_domains.domain (varchar 253), which only the database checks here.
    const tooLong = { ...site('refused', 0), domains: [`${'x'.repeat(280)}.lock.example.com`] };
    const outcomes = await Promise.allSettled([
      one.createWebsite(site('first', 0)),
      one.createWebsite(site('kept', 1)),
      one.createWebsite(tooLong),
      one.createWebsite(site('kept', 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const events = await eventsAfter(before);
    expect(events.map((e) => e.id)).toEqual(ids(before + 1, 3));
    const kept = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.website_id] : []));
    expect(events.map((e) => e.payload.website_id).sort(byNumber)).toEqual(kept.sort(byNumber));
    const [rows] = await fx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM website_domains WHERE domain LIKE 'xxxx%'`,
    );
    expect(rows!.n).toBe(0);
  });
});

describe('a writer whose connection is lost while it waits for the topic lock', () => {
  it('client gone - a change waiting for the lock in its autocommit statement is rolled back once its connection is lost, not committed when the lock comes free', async () => {
    const direct = new URL(fx.database.url);
    await using proxy = await FaultProxy.to(Number(direct.port || 5432));
    const proxied = new URL(fx.database.url);
    proxied.port = String(proxy.port);
    // No statement timeout to speak of: only the client check can end the wait.
    const env = testEnv(fx.database, fx.busPrefix, {
      TIDELINE_DATABASE_URL: proxied.toString(),
      TIDELINE_DATABASE_STATEMENT_TIMEOUT_MS: '600000',
      TIDELINE_DATABASE_CLIENT_CHECK_INTERVAL_MS: '200',
    });
    const cut = openDatabase(loadConfig(settings, { env }), { applicationName: 'topic-lock-client-gone' });
    const holder = new pg.Client({ connectionString: fx.database.url });
    await holder.connect();
    const before = await fx.lastEventId();
    try {
      const release = await holdTopicLock(holder);
      try {
        const lost = new PrismaWebsiteStore({
          prisma: cut.prisma,
          eventLog: new PostgresEventLog({ prisma: cut.prisma }),
        }).createWebsite(site('client-gone', 0));
        const outcome = lost.then(
          () => 'committed',
          () => 'failed',
        );
        expect(await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === 1, 10_000)).toBe(true);
        proxy.cut();
        expect(await outcome).toBe('failed');
        // The server noticed and rolled the waiting statement back while the lock was still held.
        expect(await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === 0, 30_000)).toBe(true);
      } finally {
        await release();
      }
      expect(await fx.lastEventId()).toBe(before);
      expect(
        await fx.query(`SELECT 1 FROM website_domains WHERE domain = $1`, [site('client-gone', 0).domains[0]]),
      ).toEqual([]);
    } finally {
      await holder.end();
      await cut.close();
    }
  });
});

describe('relay from memory', () => {
  it('relay - the events this replica commits are published from memory, byte for byte as the log holds them (add, update, delete)', async () => {
    // No pass of the interval during the test: only the writes' own hand-overs publish.
    const api = await ApiFixture.start({ env: { TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: '60000' } });
    const reader = await openBus(api.busPrefix);
    const readFromLog = async () =>
      Number(
        /tideline_website_api_relay_read_from_log_total\{[^}]*\} (\d+)/.exec(
          await (await fetch(`${api.api.url}/metrics`)).text(),
        )?.[1],
      );
    try {
      const group = await api.lineGroup('memory');
      const before = await readFromLog();
      expect(before).toBeGreaterThanOrEqual(0);
      const created = await api.call('POST', '/api/v1/websites/create', {
        body: { ...site('memory', 0), line_group_id: group.id },
      });
      expect(created.status).toBe(201);
      const id = created.body.data.website_id as number;
      const updated = await api.call('POST', '/api/v1/websites/update', {
        body: { website_id: id, https_enabled: true },
      });
      expect(updated.status).toBe(200);
      const removed = await api.call('POST', '/api/v1/websites/delete', { body: { website_id: id } });
      expect(removed.status).toBe(200);
      expect(await api.lastEventId()).toBe(3);
      expect(
        await eventually(async () => (await readWebsiteStream(reader)).some((m) => m.msgId === '3'), 10_000),
      ).toBe(true);
      const logged = await new PostgresRelayState({ pool: api.sql, topic: 'websites' }).eventsAfter(0, 10);
      expect(logged.map((e) => e.type)).toEqual(['add', 'update', 'delete']);
      const published = new Map(
        (await readWebsiteStream(reader)).map((m) => [m.msgId, new TextDecoder().decode(m.data)]),
      );
      for (const event of logged) expect(published.get(String(event.eventId))).toBe(JSON.stringify(event));
      expect(await readFromLog()).toBe(before);
    } finally {
      await reader.drain();
      await api.dispose();
    }
  });
});

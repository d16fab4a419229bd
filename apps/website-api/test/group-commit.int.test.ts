import { loadConfig } from '@tideline/config';
import { Prisma } from '@tideline/db';
import { eventually } from '@tideline/test-support';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/adapters/database.ts';
import { translateDatabaseError } from '../src/adapters/database-errors.ts';
import { PostgresEventLog } from '../src/adapters/event-log/postgres-event-log.ts';
import { PostgresRelayState } from '../src/adapters/event-log/relay-state.ts';
import { PrismaWebsiteStore } from '../src/adapters/prisma-website-store.ts';
import { settings } from '../src/config.ts';
import { ApiFixture, holdTopicLock, openBus, readWebsiteStream, testEnv, topicLocks } from './harness.ts';

/**
 * Group commit: the changes of one process that wait for the topic lock behind one of its changes
 * commit together in the next turn; and the relay publishes this replica's events from memory,
 * exactly as the log holds them.
 */
let fx: ApiFixture;
let database: ReturnType<typeof openDatabase>;
let lineGroupId: number;

beforeAll(async () => {
  fx = await ApiFixture.start({});
  lineGroupId = (await fx.lineGroup('group-commit')).id;
  database = openDatabase(loadConfig(settings, { env: testEnv(fx.database, fx.busPrefix) }), {
    applicationName: 'group-commit-test',
  });
});
afterAll(async () => {
  await database?.close();
  await fx?.dispose();
});

/** A store of its own (the service's relay does not see its commits: the log keeps them). */
function store(writeBatchMax: number): PrismaWebsiteStore {
  return new PrismaWebsiteStore({
    prisma: database.prisma,
    statements: database.statements,
    eventLog: new PostgresEventLog({ prisma: database.prisma }),
    writeLockTries: 4,
    writeBatchMax,
  });
}

/** The transaction (xmin) and payload of each event after `after`, in id order. */
async function eventsAfter(
  after: number,
): Promise<{ id: number; tx: string; payload: { website_id: number } }[]> {
  return fx.query(
    `SELECT id::int AS id, xmin::text AS tx, payload FROM ws_events WHERE topic = 'websites' AND id > $1 ORDER BY id`,
    [after],
  );
}

const site = (tag: string, i: number) => ({
  domains: [`www.${tag}-${i}.group.example.com`],
  line_group_id: lineGroupId,
  https_enabled: false,
  status: 'active' as const,
});

describe('group commit', () => {
  it('group commit - 20 changes issued at once: the first commits alone, the 19 that waited behind it in one transaction; ids gap-free, each answer its own event', async () => {
    const one = store(64);
    const before = await fx.lastEventId();
    const grouped = await Promise.all(
      Array.from({ length: 20 }, (_, i) => one.createWebsite(site('grouped', i))),
    );
    const groupedEvents = await eventsAfter(before);
    expect(groupedEvents.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => before + 1 + i));
    const transactions = [...new Set(groupedEvents.map((e) => e.tx))];
    expect(transactions).toHaveLength(2);
    expect(groupedEvents.filter((e) => e.tx === groupedEvents[0]!.tx)).toHaveLength(1);
    // Answers in call order carry the events in id order: the turn keeps arrival order.
    expect(grouped.map((a) => a.website_id)).toEqual(groupedEvents.map((e) => e.payload.website_id));
  });

  it('group commit - a batch size of 1 commits every change on its own', async () => {
    const one = store(1);
    const before = await fx.lastEventId();
    await Promise.all(Array.from({ length: 6 }, (_, i) => one.createWebsite(site('single', i))));
    const events = await eventsAfter(before);
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e) => e.tx)).size).toBe(6);
  });

  it('group commit - a change the database refuses inside a turn fails alone: the others of its turn commit, ids stay gap-free', async () => {
    const one = store(64);
    const before = await fx.lastEventId();
    // 300 characters: longer than website_domains.domain (varchar 253), which only the database checks here.
    const tooLong = { ...site('refused', 0), domains: [`${'x'.repeat(280)}.group.example.com`] };
    const outcomes = await Promise.allSettled([
      one.createWebsite(site('first', 0)),
      one.createWebsite(site('kept', 1)),
      one.createWebsite(tooLong),
      one.createWebsite(site('kept', 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const events = await eventsAfter(before);
    expect(events.map((e) => e.id)).toEqual([before + 1, before + 2, before + 3]);
    const kept = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.website_id] : []));
    expect(events.map((e) => e.payload.website_id)).toEqual(kept);
    const [rows] = await fx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM website_domains WHERE domain LIKE 'xxxx%'`,
    );
    expect(rows!.n).toBe(0);
  });
});

describe('the change statements path', () => {
  it('database errors - a unique violation raised through the driver adapter (Database.statements) answers CONFLICT naming the domains', async () => {
    const taken = await store(64).createWebsite(site('unique', 0));
    const error = await database.statements
      .query(
        Prisma.sql`INSERT INTO website_domains (website_id, domain) VALUES (${taken.website_id}, ${taken.primary_domain})`,
      )
      .catch((e: unknown) => e);
    expect(translateDatabaseError(error)).toMatchObject({
      code: 'CONFLICT',
      fields: [{ path: 'domains', message: 'is already taken' }],
    });
  });
});

describe('group commit behind another writer', () => {
  it('group commit - while another process holds the topic lock, the first change waits for it and the 9 behind it commit together once it is free', async () => {
    const holder = new pg.Client({ connectionString: fx.database.url });
    await holder.connect();
    try {
      const one = store(64);
      const before = await fx.lastEventId();
      const release = await holdTopicLock(holder);
      const writes = Promise.all(Array.from({ length: 10 }, (_, i) => one.createWebsite(site('behind', i))));
      // The first change tried the lock, wrote nothing, and now waits for it to be free.
      expect(await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === 1, 10_000)).toBe(true);
      expect(await fx.lastEventId()).toBe(before);
      await release();
      const answers = await writes;
      const events = await eventsAfter(before);
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => before + 1 + i));
      expect(events.map((e) => e.payload.website_id)).toEqual(answers.map((a) => a.website_id));
      expect(new Set(events.map((e) => e.tx)).size).toBe(2);
    } finally {
      await holder.end();
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

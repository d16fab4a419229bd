import { WebsitesReplay } from '@tideline/contracts';
import { eventually, sleep } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiFixture, tokens, topicLocks } from './harness.ts';

const WRITERS = 8;
const WRITES_PER_WRITER = 40;
/** The writes take as long as the machine needs; only this bounds the test. */
const TEST_TIMEOUT_MS = 180_000;

let fx: ApiFixture;
let lineGroupId: number;

beforeAll(async () => {
  fx = await ApiFixture.start({ env: { TIDELINE_DATABASE_POOL_MAX: '12' } });
  lineGroupId = (await fx.lineGroup('concurrency')).id;
});
afterAll(async () => {
  await fx?.dispose();
});

async function lastEventId(): Promise<number> {
  const [row] = await fx.query<{ last: number }>(
    `SELECT last_event_id::int AS last FROM ws_log_meta WHERE topic = 'websites'`,
  );
  return row!.last;
}

/** A reader of "events after N": remembers everything it received and every time a batch did not continue at N + 1. */
function reader(fetchAfter: (after: number) => Promise<number[]>) {
  const state = { last: 0, seen: [] as number[], skips: [] as string[], polls: 0 };
  const poll = async () => {
    const batch = await fetchAfter(state.last);
    state.polls++;
    batch.forEach((id, i) => {
      const expected = state.last + 1 + i;
      if (id !== expected)
        state.skips.push(`after ${state.last}: got ${id} at position ${i}, expected ${expected}`);
    });
    if (batch.length > 0) {
      state.seen.push(...batch);
      state.last = batch[batch.length - 1]!;
    }
  };
  return { state, poll };
}

describe('event log under concurrent writers (invariant 2)', () => {
  it('concurrency - a sequence alone lets a reader skip a late-committing id; the event log makes the later writer wait', async () => {
    // The hazard, shown with a plain sequence: id 1 is taken first but commits after id 2.
    await fx.query('CREATE TABLE naive_log (id bigserial PRIMARY KEY)');
    const slow = await fx.sql.connect();
    const fast = await fx.sql.connect();
    try {
      await slow.query('BEGIN');
      await slow.query('INSERT INTO naive_log DEFAULT VALUES');
      await fast.query('INSERT INTO naive_log DEFAULT VALUES');
      const seenByReader = await fx.query<{ id: number }>(
        'SELECT id::int FROM naive_log WHERE id > 0 ORDER BY id',
      );
      expect(seenByReader).toEqual([{ id: 2 }]); // a reader now at 2 never asks for 1 again
      await slow.query('COMMIT');
    } finally {
      slow.release();
      fast.release();
    }

    // The same schedule through the event log.
    const base = await lastEventId();
    const { prisma } = fx.api.database;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = prisma.$transaction(async (tx) => {
      const id = await fx.api.eventLog.append(tx, { type: 'delete', payload: { website_id: 900_001 } });
      await gate;
      return id;
    });
    expect(await eventually(async () => (await topicLocks(fx.sql, 'granted')) === 1, 5_000)).toBe(true);
    const second = prisma.$transaction((tx) =>
      fx.api.eventLog.append(tx, { type: 'delete', payload: { website_id: 900_002 } }),
    );
    expect(await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === 1, 5_000)).toBe(true);
    expect(await fx.query(`SELECT id FROM ws_events WHERE topic = 'websites' AND id > $1`, [base])).toEqual(
      [],
    );
    release();
    expect(await Promise.all([first, second])).toEqual([base + 1, base + 2]);
  });

  it(`concurrency - ${WRITERS} writers, 3 readers polling "events after N": every reader sees every id once, contiguous and in commit order`, {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const base = await lastEventId();
    const sqlReaders = [0, 1].map(() =>
      reader(async (after) => {
        const rows = await fx.query<{ id: number }>(
          `SELECT id::int FROM ws_events WHERE topic = 'websites' AND id > $1 ORDER BY id LIMIT 200`,
          [Math.max(after, base)],
        );
        return rows.map((r) => r.id);
      }),
    );
    const replayReader = reader(async (after) => {
      const answer = await fx.call(
        'GET',
        `/internal/v1/websites/events?after=${Math.max(after, base)}&limit=500`,
        { token: tokens.internal },
      );
      const replay = WebsitesReplay.parse(answer.body);
      if (replay.kind !== 'events') throw new Error(`replay fell back: ${replay.reason}`);
      return replay.events.map((e) => e.eventId);
    });
    const readers = [...sqlReaders, replayReader];
    for (const r of readers) r.state.last = base;

    let writing = true;
    const readLoops = readers.map(async (r) => {
      for (;;) {
        await r.poll();
        if (!writing && r.state.last === (await lastEventId())) return;
        await sleep(2);
      }
    });

    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const created = await fx.call('POST', '/api/v1/websites/create', {
        body: { domains: [`w${w}-0.concurrency.example.com`], line_group_id: lineGroupId },
      });
      expect(created.status).toBe(201);
      const websiteId = created.body.data.website_id as number;
      for (let k = 1; k < WRITES_PER_WRITER; k++) {
        const answer = await fx.call('POST', '/api/v1/websites/update', {
          body: { website_id: websiteId, domains: [`w${w}-${k}.concurrency.example.com`] },
        });
        expect(answer.status).toBe(200);
      }
      return websiteId;
    });
    const websiteIds = await Promise.all(writers);
    writing = false;
    await Promise.all(readLoops);

    const final = await lastEventId();
    expect(final - base).toBe(WRITERS * WRITES_PER_WRITER);
    const expected = Array.from({ length: final - base }, (_, i) => base + 1 + i);
    for (const r of readers) {
      expect(r.state.skips).toEqual([]);
      expect(r.state.seen).toEqual(expected);
      expect(r.state.polls).toBeGreaterThan(3);
    }
    // Per website, its events are in the order its writer made the changes (commit order).
    for (const [w, websiteId] of websiteIds.entries()) {
      const rows = await fx.query<{ domain: string }>(
        `SELECT payload->>'primary_domain' AS domain FROM ws_events WHERE topic = 'websites' AND id > $1 AND payload->>'website_id' = $2::text ORDER BY id`,
        [base, websiteId],
      );
      expect(rows.map((r) => r.domain)).toEqual(
        Array.from({ length: WRITES_PER_WRITER }, (_, k) => `w${w}-${k}.concurrency.example.com`),
      );
    }
  });

  it(`concurrency - ${WRITERS} concurrent updates of one website: each is applied whole, its event carries its answer, and the last event is the website as it is`, {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const created = await fx.call('POST', '/api/v1/websites/create', {
      body: { domains: ['same-0.concurrency.example.com'], line_group_id: lineGroupId },
    });
    expect(created.status).toBe(201);
    const websiteId = created.body.data.website_id as number;
    const base = await lastEventId();
    const domainsOf = (k: number) => [
      `same-${k}.concurrency.example.com`,
      `www.same-${k}.concurrency.example.com`,
    ];
    const answers = await Promise.all(
      Array.from({ length: WRITERS }, (_, k) =>
        fx.call('POST', '/api/v1/websites/update', {
          body: { website_id: websiteId, domains: domainsOf(k + 1), https_enabled: k % 2 === 0 },
        }),
      ),
    );
    for (const [k, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.body.data.domains).toEqual(domainsOf(k + 1));
      expect(answer.body.data.https_enabled).toBe(k % 2 === 0);
    }
    // One event per update, ids contiguous after base, each carrying exactly what its request answered.
    const events = await fx.query<{ id: number; payload: { domains: string[] } }>(
      `SELECT id::int, payload FROM ws_events WHERE topic = 'websites' AND id > $1 ORDER BY id`,
      [base],
    );
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: WRITERS }, (_, i) => base + 1 + i));
    const answered = new Map(answers.map((a) => [a.body.data.domains.join(' '), a.body.data]));
    for (const event of events) expect(event.payload).toEqual(answered.get(event.payload.domains.join(' ')));
    expect(new Set(events.map((e) => e.payload.domains.join(' '))).size).toBe(WRITERS);
    // The website is what the last event says, with exactly its two domains, one of them primary.
    const now = await fx.call('GET', `/api/v1/websites/${websiteId}`);
    expect(now.body.data).toEqual(events.at(-1)!.payload);
    const rows = await fx.query<{ domain: string; is_primary: boolean }>(
      `SELECT domain, is_primary FROM website_domains WHERE website_id = $1 ORDER BY is_primary DESC, id`,
      [websiteId],
    );
    expect(rows.map((r) => r.domain)).toEqual(events.at(-1)!.payload.domains);
    expect(rows.map((r) => r.is_primary)).toEqual([true, false]);
  });
});

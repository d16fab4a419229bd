import { type WebsiteItem, WebsitesReplay, WebsitesSnapshot } from '@tideline/contracts';
import { eventually, freePort, sleep } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiFixture, tokens } from './harness.ts';

const RETENTION = { maxAgeSeconds: 604_800, maxRows: 1_000_000, batchRows: 10_000 };

async function createMany(fx: ApiFixture, lineGroupId: number, n: number, tag: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await fx.call('POST', '/api/v1/websites/create', {
      body: { domains: [`${tag}-${i}.reads.example.com`], line_group_id: lineGroupId },
    });
    expect(answer.status).toBe(201);
    ids.push(answer.body.data.website_id);
  }
  return ids;
}

async function snapshot(fx: ApiFixture): Promise<WebsitesSnapshot> {
  const answer = await fx.call('GET', '/internal/v1/websites/snapshot', { token: tokens.internal });
  expect(answer.status).toBe(200);
  return WebsitesSnapshot.parse(answer.body);
}

async function replay(fx: ApiFixture, query: string): Promise<WebsitesReplay> {
  const answer = await fx.call('GET', `/internal/v1/websites/events?${query}`, { token: tokens.internal });
  expect(answer.status).toBe(200);
  return WebsitesReplay.parse(answer.body);
}

/** The website list after applying `events` to `items` (what a gateway's client does). */
function apply(items: WebsiteItem[], events: { type: string; data: unknown }[]): WebsiteItem[] {
  const state = new Map(items.map((item) => [item.website_id, item]));
  for (const event of events) {
    if (event.type === 'delete') state.delete((event.data as { website_id: number }).website_id);
    else state.set((event.data as WebsiteItem).website_id, event.data as WebsiteItem);
  }
  return [...state.values()].sort((a, b) => a.website_id - b.website_id);
}

describe('snapshot and replay for the gateways (invariants 3 and 5)', () => {
  let fx: ApiFixture;
  let lineGroupId: number;
  beforeAll(async () => {
    fx = await ApiFixture.start();
    lineGroupId = (await fx.lineGroup('reads')).id;
  });
  afterAll(async () => {
    await fx?.dispose();
  });

  it('snapshot - the whole list with total, version and lastEventId, the same as the list endpoint', async () => {
    await createMany(fx, lineGroupId, 3, 'snap');
    const snap = await snapshot(fx);
    const list = await fx.call('GET', '/api/v1/websites?page_size=500', { token: tokens.reader });
    expect(snap.items).toEqual(list.body.data);
    expect(snap.total).toBe(3);
    expect(snap.lastEventId).toBe(await fx.lastEventId());
    const [meta] = await fx.query(`SELECT epoch FROM ws_log_meta WHERE topic = 'websites'`);
    expect(snap.version).toBe(meta!.epoch);
  });

  it('snapshot - taken while writers run, each one is exactly the state after its lastEventId, and replay brings it to the end', async () => {
    const ids = await createMany(fx, lineGroupId, 6, 'race');
    let writing = true;
    const writers = [0, 1, 2].map(async (w) => {
      for (let k = 0; writing && k < 200; k++) {
        const id = ids[(w * 2 + k) % ids.length]!;
        await fx.call('POST', '/api/v1/websites/update', {
          body: { website_id: id, domains: [`race-${id}-${w}-${k}.reads.example.com`] },
        });
        if (k % 7 === 3) {
          const created = await fx.call('POST', '/api/v1/websites/create', {
            body: { domains: [`extra-${w}-${k}.reads.example.com`], line_group_id: lineGroupId },
          });
          await fx.call('POST', '/api/v1/websites/delete', {
            body: { website_id: created.body.data.website_id },
          });
        }
      }
    });
    const snaps: WebsitesSnapshot[] = [];
    for (let i = 0; i < 12; i++) {
      snaps.push(await snapshot(fx));
      await sleep(60);
    }
    writing = false;
    await Promise.all(writers);
    expect(new Set(snaps.map((s) => s.lastEventId)).size).toBeGreaterThan(5);

    const events = (await fx.query(
      `SELECT id::int, event_type::text AS type, payload AS data FROM ws_events WHERE topic = 'websites' ORDER BY id`,
    )) as {
      id: number;
      type: string;
      data: unknown;
    }[];
    const final = (await snapshot(fx)).items;
    for (const snap of snaps) {
      expect(snap.items).toEqual(
        apply(
          [],
          events.filter((e) => e.id <= snap.lastEventId),
        ),
      );
      expect(snap.total).toBe(snap.items.length);
      const rest = await replay(fx, `after=${snap.lastEventId}&limit=10000&version=${snap.version}`);
      if (rest.kind !== 'events') throw new Error(`fallback ${rest.reason}`);
      expect(apply(snap.items, rest.events)).toEqual(final);
    }
  });

  it('replay - events after N, at most the limit, in id order, as contract envelopes in the current version', async () => {
    const last = await fx.lastEventId();
    const snap = await snapshot(fx);
    const all = await replay(fx, `after=${last - 5}&limit=5&version=${snap.version}`);
    expect(all).toMatchObject({ kind: 'events', version: snap.version });
    if (all.kind !== 'events') return;
    expect(all.events.map((e) => e.eventId)).toEqual([last - 4, last - 3, last - 2, last - 1, last]);
    expect(all.events.every((e) => e.topic === 'websites' && e.schemaVersion === 1)).toBe(true);
    const none = await replay(fx, `after=${last}&limit=500`);
    expect(none).toEqual({ kind: 'events', version: snap.version, events: [] });
  });

  it('replay - falls back to a snapshot for another version, a future id, or more than the limit behind', async () => {
    const last = await fx.lastEventId();
    const { version } = await snapshot(fx);
    expect(await replay(fx, `after=${last}&limit=500&version=another-epoch`)).toEqual({
      kind: 'fallback',
      version,
      reason: 'other-version',
    });
    expect(await replay(fx, `after=${last + 1}&limit=500`)).toEqual({
      kind: 'fallback',
      version,
      reason: 'future',
    });
    expect(await replay(fx, `after=${last - 6}&limit=5&version=${version}`)).toEqual({
      kind: 'fallback',
      version,
      reason: 'too-many',
    });
  });

  it('replay - a query without limit, with limit 0 or with a negative after answers 400 naming the field', async () => {
    for (const [query, field] of [
      ['after=1', 'limit'],
      ['after=1&limit=0', 'limit'],
      ['after=-1&limit=5', 'after'],
      ['after=1&limit=5&extra=1', ''],
    ] as const) {
      const answer = await fx.call('GET', `/internal/v1/websites/events?${query}`, {
        token: tokens.internal,
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.fields.map((f: { path: string }) => f.path)).toContain(field);
    }
  });

  it('reset - a new epoch: positions of the old one fall back (other-version); ids go on', async () => {
    const before = await snapshot(fx);
    const version = await fx.api.eventLog.reset();
    expect(version).not.toBe(before.version);
    expect(await replay(fx, `after=${before.lastEventId}&limit=500&version=${before.version}`)).toMatchObject(
      { kind: 'fallback', reason: 'other-version' },
    );
    await createMany(fx, lineGroupId, 1, 'after-reset');
    const after = await snapshot(fx);
    expect(after).toMatchObject({ version, lastEventId: before.lastEventId + 1 });
    const next = await replay(fx, `after=${before.lastEventId}&limit=500&version=${version}`);
    expect(next.kind === 'events' && next.events.map((e) => e.eventId)).toEqual([before.lastEventId + 1]);
  });
});

describe('retention (invariant 5 kept while the log stays bounded)', () => {
  let fx: ApiFixture;
  let lineGroupId: number;
  beforeAll(async () => {
    // A broker nobody listens on: the relay publishes nothing unless a test says it did.
    fx = await ApiFixture.start({
      env: {
        TIDELINE_NATS_URL: `nats://127.0.0.1:${await freePort()}`,
        TIDELINE_WEBSITE_API_RETENTION_INTERVAL_MS: '3600000',
      },
    });
    lineGroupId = (await fx.lineGroup('retention')).id;
    await createMany(fx, lineGroupId, 10, 'ret');
  });
  afterAll(async () => {
    await fx?.dispose();
  });

  it('retention - never purges an event the relay has not published', async () => {
    expect(await fx.publishedId()).toBe(0);
    expect(await fx.api.eventLog.purgeOnce({ ...RETENTION, maxRows: 1 })).toBe(0);
    expect((await fx.query(`SELECT count(*)::int AS n FROM ws_events`))[0]!.n).toBe(10);
  });

  it('retention - beyond the row limit the oldest published events go; a replay from before the horizon answers purged', async () => {
    await fx.query(`UPDATE ws_relay_state SET last_published_id = 8`);
    expect(await fx.api.eventLog.purgeOnce({ ...RETENTION, maxRows: 3 })).toBe(7);
    expect(
      (await fx.query<{ id: number }>(`SELECT id::int FROM ws_events ORDER BY id`)).map((r) => r.id),
    ).toEqual([8, 9, 10]);
    expect((await fx.query(`SELECT purged_through_id::int AS p FROM ws_log_meta`))[0]!.p).toBe(7);
    const { version } = await snapshot(fx);
    expect(await replay(fx, 'after=6&limit=500')).toEqual({ kind: 'fallback', version, reason: 'purged' });
    const fromHorizon = await replay(fx, 'after=7&limit=500');
    expect(fromHorizon.kind === 'events' && fromHorizon.events.map((e) => e.eventId)).toEqual([8, 9, 10]);
  });

  it('retention - events older than the age limit go, at most a batch per transaction', async () => {
    await createMany(fx, lineGroupId, 4, 'ret-age');
    await fx.query(`UPDATE ws_relay_state SET last_published_id = 14`);
    await fx.query(`UPDATE ws_events SET created_at = now() - interval '8 days' WHERE id <= 12`);
    expect(await fx.api.eventLog.purgeOnce({ ...RETENTION, batchRows: 2 })).toBe(2);
    expect(await fx.api.eventLog.purgeOnce({ ...RETENTION, batchRows: 2 })).toBe(2);
    expect(await fx.api.eventLog.purgeOnce({ ...RETENTION, batchRows: 2 })).toBe(1);
    expect(await fx.api.eventLog.purgeOnce({ ...RETENTION, batchRows: 2 })).toBe(0);
    expect(
      (await fx.query<{ id: number }>(`SELECT id::int FROM ws_events ORDER BY id`)).map((r) => r.id),
    ).toEqual([13, 14]);
  });
});

describe('retention loop', () => {
  it('retention - the periodic cleanup keeps the configured number of rows by itself, once they are published', async () => {
    const fx = await ApiFixture.start({
      env: {
        TIDELINE_WEBSITE_API_RETENTION_INTERVAL_MS: '100',
        TIDELINE_WEBSITE_API_RETENTION_MAX_ROWS: '5',
      },
    });
    try {
      await createMany(fx, (await fx.lineGroup('loop')).id, 12, 'loop');
      const trimmed = async () => (await fx.query(`SELECT count(*)::int AS n FROM ws_events`))[0]!.n === 5;
      expect(await eventually(trimmed, 10_000, 50)).toBe(true);
      expect(
        (await fx.query(`SELECT min(id)::int AS first, max(id)::int AS last FROM ws_events`))[0],
      ).toEqual({ first: 8, last: 12 });
      const metrics = await (await fetch(`${fx.api.url}/metrics`)).text();
      expect(metrics).toMatch(/tideline_website_api_events_purged_total\{[^}]*\} 7/);
    } finally {
      await fx.dispose();
    }
  });
});

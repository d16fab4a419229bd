import { WebsiteDeleted, WebsiteItem } from '@tideline/contracts';
import { eventually } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiFixture, holdTopicLock, tokens, topicLocks } from './harness.ts';

/**
 * SQL-level checks of the websites event log (`ws_events`): what the API writes, how it is
 * numbered, constrained and indexed. The fixture's broker prefix is its own; the relay runs.
 */
let fx: ApiFixture;
let lineGroupId: number;
const ids: number[] = [];

async function expectSqlError(sql: string, values: unknown[], pattern: RegExp) {
  await expect(fx.query(sql, values)).rejects.toThrow(pattern);
}

beforeAll(async () => {
  fx = await ApiFixture.start();
  lineGroupId = (await fx.lineGroup('log-checks')).id;
  // 6 adds, 3 updates, 2 deletes: a known history.
  for (let i = 0; i < 6; i++) {
    const answer = await fx.call('POST', '/api/v1/websites/create', {
      body: { domains: [`log-${i}.example.com`], line_group_id: lineGroupId },
    });
    ids.push(answer.body.data.website_id);
  }
  for (const id of ids.slice(0, 3))
    await fx.call('POST', '/api/v1/websites/update', { body: { website_id: id, https_enabled: true } });
  for (const id of ids.slice(4, 6))
    await fx.call('POST', '/api/v1/websites/delete', { body: { website_id: id } });
});
afterAll(async () => {
  await fx?.dispose();
});

describe('event log: written rows', () => {
  it('sql - each change wrote exactly one row of its type: 6 add, 3 update, 2 delete', async () => {
    const rows = await fx.query(
      `SELECT event_type::text AS type, count(*)::int AS n FROM ws_events GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { type: 'add', n: 6 },
      { type: 'delete', n: 2 },
      { type: 'update', n: 3 },
    ]);
  });

  it('sql - ids are 1..N without a hole, and ws_log_meta.last_event_id is N', async () => {
    const rows = await fx.query<{ id: number }>(
      `SELECT id::int FROM ws_events WHERE topic = 'websites' ORDER BY id`,
    );
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    const [meta] = await fx.query(
      `SELECT last_event_id::int AS last, purged_through_id::int AS purged FROM ws_log_meta WHERE topic = 'websites'`,
    );
    expect(meta).toEqual({ last: 11, purged: 0 });
  });

  it('sql - the log follows the order of the changes: adds, then updates, then deletes, each for the right website', async () => {
    const rows = await fx.query(
      `SELECT event_type::text AS type, (payload->>'website_id')::int AS website FROM ws_events ORDER BY id`,
    );
    expect(rows).toEqual([
      ...ids.map((website) => ({ type: 'add', website })),
      ...ids.slice(0, 3).map((website) => ({ type: 'update', website })),
      ...ids.slice(4, 6).map((website) => ({ type: 'delete', website })),
    ]);
  });

  it('sql - every add/update payload is a WebsiteItem and every delete payload is exactly { website_id }', async () => {
    const rows = await fx.query<{ type: string; payload: unknown }>(
      `SELECT event_type::text AS type, payload FROM ws_events`,
    );
    for (const row of rows) {
      if (row.type === 'delete') expect(WebsiteDeleted.strict().parse(row.payload)).toEqual(row.payload);
      else expect(WebsiteItem.strict().parse(row.payload)).toEqual(row.payload);
    }
  });

  it('sql - the payload of the latest event of a website equals the website as the API returns it now', async () => {
    for (const id of ids.slice(0, 4)) {
      const [latest] = await fx.query(
        `SELECT payload FROM ws_events WHERE payload->>'website_id' = $1::text ORDER BY id DESC LIMIT 1`,
        [id],
      );
      const now = await fx.call('GET', `/api/v1/websites/${id}`);
      expect(latest!.payload).toEqual(now.body.data);
    }
  });

  it('sql - updates carry the item after the change (https_enabled true), not before', async () => {
    const rows = await fx.query(
      `SELECT payload->'https_enabled' AS https FROM ws_events WHERE event_type = 'update'`,
    );
    expect(rows.map((r) => r.https)).toEqual([true, true, true]);
  });

  it('sql - every row has topic websites and a created_at within the test run', async () => {
    const [row] = await fx.query(
      `SELECT count(*) FILTER (WHERE topic <> 'websites')::int AS other,
              count(*) FILTER (WHERE created_at < now() - interval '10 minutes' OR created_at > now() + interval '1 minute')::int AS off
         FROM ws_events`,
    );
    expect(row).toEqual({ other: 0, off: 0 });
  });
});

describe('event log: constraints', () => {
  it('sql - event_type accepts only add, update and delete', async () => {
    const [type] = await fx.query(`SELECT enum_range(NULL::ws_event_type)::text AS values`);
    expect(type!.values).toBe('{add,update,delete}');
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ('sql-check', 1, 'upsert', '{}')`,
      [],
      /invalid input value for enum ws_event_type/,
    );
  });

  it('sql - (topic, id) is the primary key: an id cannot be written twice', async () => {
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ('websites', 1, 'add', '{}')`,
      [],
      /ws_events_pkey/,
    );
  });

  it('sql - ids are positive, payloads are JSON objects, nothing is null', async () => {
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ('sql-check', 0, 'add', '{}')`,
      [],
      /ws_events_id_positive/,
    );
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ('sql-check', 1, 'add', '[1]')`,
      [],
      /ws_events_payload_object/,
    );
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ('sql-check', 1, NULL, '{}')`,
      [],
      /null value/,
    );
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ('sql-check', 1, 'add', NULL)`,
      [],
      /null value/,
    );
    await expectSqlError(
      `INSERT INTO ws_events (topic, id, event_type, payload) VALUES ($1, 1, 'add', '{}')`,
      ['t'.repeat(65)],
      /too long/,
    );
  });

  it('sql - a website has exactly one primary domain: a second one is refused, none is refused at commit', async () => {
    await expectSqlError(
      `INSERT INTO website_domains (website_id, domain, is_primary) VALUES ($1, 'second-primary.example.com', true)`,
      [ids[0]],
      /website_domains_one_primary_idx/,
    );
    await expectSqlError(
      `UPDATE website_domains SET is_primary = false WHERE website_id = $1`,
      [ids[0]],
      /exactly one primary domain/,
    );
    await expectSqlError(
      `INSERT INTO websites (line_group_id) VALUES ($1)`,
      [lineGroupId],
      /exactly one primary domain \(has 0\)/,
    );
  });

  it('sql - domains are unique and lower case; a line group in use cannot be deleted', async () => {
    await expectSqlError(
      `INSERT INTO website_domains (website_id, domain) VALUES ($1, 'log-0.example.com')`,
      [ids[1]],
      /website_domains_domain_key/,
    );
    await expectSqlError(
      `INSERT INTO website_domains (website_id, domain) VALUES ($1, 'Upper.example.com')`,
      [ids[1]],
      /website_domains_domain_lower/,
    );
    await expectSqlError(
      `DELETE FROM line_groups WHERE id = $1`,
      [lineGroupId],
      /websites_line_group_id_fkey/,
    );
  });
});

describe('event log: reading', () => {
  it('sql - "events after N" is answered from the (topic, id) primary key index, already in id order', async () => {
    // A topic of its own with enough rows that the planner has a real choice.
    await fx.query(
      `INSERT INTO ws_events (topic, id, event_type, payload)
       SELECT 'explain-check', g, 'add', jsonb_build_object('website_id', g) FROM generate_series(1, 20000) g`,
    );
    await fx.query('ANALYZE ws_events');
    const plan = await fx.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM ws_events WHERE topic = 'explain-check' AND id > 15000 ORDER BY id LIMIT 500`,
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using ws_events_pkey on ws_events/);
    expect(text).toMatch(/Index Cond: \(\(\(topic\)::text = 'explain-check'::text\) AND \(id > 15000\)\)/);
    expect(text).not.toMatch(/Sort|Seq Scan/);
    await fx.query(`DELETE FROM ws_events WHERE topic = 'explain-check'`);
  });

  it('sql - the replay endpoint answers exactly the rows of ws_events after N, in id order', async () => {
    const rows = await fx.query<{ id: number }>(
      `SELECT id::int FROM ws_events WHERE topic = 'websites' AND id > 4 ORDER BY id`,
    );
    const replay = await fx.call('GET', '/internal/v1/websites/events?after=4&limit=500', {
      token: tokens.internal,
    });
    expect(replay.status).toBe(200);
    expect(replay.body.events.map((e: { eventId: number }) => e.eventId)).toEqual(rows.map((r) => r.id));
  });
});

describe('event log: transactions', () => {
  it('sql - a change that rolls back after writing its event leaves no row, and the id is handed out again', async () => {
    const [before] = await fx.query(
      `SELECT last_event_id::int AS last FROM ws_log_meta WHERE topic = 'websites'`,
    );
    const { prisma } = fx.api.database;
    const failure = prisma.$transaction(async (tx) => {
      await tx.website.update({ where: { id: ids[0] }, data: { status: 'paused' } });
      const id = await fx.api.eventLog.append(tx, { type: 'delete', payload: { website_id: ids[0]! } });
      expect(id).toBe(before!.last + 1);
      throw new Error('abort after the event was written');
    });
    await expect(failure).rejects.toThrow('abort after the event was written');
    expect(await fx.query(`SELECT id FROM ws_events WHERE id > $1`, [before!.last])).toEqual([]);
    const [after] = await fx.query(
      `SELECT last_event_id::int AS last FROM ws_log_meta WHERE topic = 'websites'`,
    );
    expect(after!.last).toBe(before!.last);
    expect((await fx.call('GET', `/api/v1/websites/${ids[0]}`)).body.data.status).toBe('active');
    const next = await fx.call('POST', '/api/v1/websites/update', {
      body: { website_id: ids[0], status: 'paused' },
    });
    expect(next.status).toBe(200);
    const [last] = await fx.query(`SELECT max(id)::int AS id FROM ws_events WHERE topic = 'websites'`);
    expect(last!.id).toBe(before!.last + 1);
  });

  it('sql - an event whose payload breaks the contract is refused before anything is written', async () => {
    const [before] = await fx.query(
      `SELECT last_event_id::int AS last FROM ws_log_meta WHERE topic = 'websites'`,
    );
    const bad = fx.api.database.prisma.$transaction((tx) =>
      fx.api.eventLog.append(tx, { type: 'add', payload: { website_id: 1 } as unknown as WebsiteItem }),
    );
    await expect(bad).rejects.toThrow(/invalid add event payload/);
    const [after] = await fx.query(
      `SELECT last_event_id::int AS last, (SELECT count(*)::int FROM ws_events WHERE id > $1) AS extra FROM ws_log_meta WHERE topic = 'websites'`,
      [before!.last],
    );
    expect(after).toEqual({ last: before!.last, extra: 0 });
  });

  it('sql - writers of a topic queue on its advisory lock: a write waits while another transaction holds it', async () => {
    const holder = await fx.sql.connect();
    const release = await holdTopicLock(holder);
    try {
      let answered = false;
      const write = fx
        .call('POST', '/api/v1/websites/update', { body: { website_id: ids[1], status: 'paused' } })
        .then((a) => {
          answered = true;
          return a;
        });
      expect(await eventually(async () => (await topicLocks(fx.sql, 'waiting')) === 1, 5_000)).toBe(true);
      expect(answered).toBe(false);
      await release();
      expect((await write).status).toBe(200);
    } finally {
      holder.release();
    }
  });
});

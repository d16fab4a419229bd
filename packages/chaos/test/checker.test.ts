import type { WebsiteItem } from '@tideline/contracts';
import { describe, expect, it } from 'vitest';
import {
  checkHistory,
  type FeedName,
  type RecordedClient,
  type Segment,
  type TruthSource,
} from '../src/index.ts';

/** The checker alone, on hand-made histories: it passes a right one and names what is wrong in a wrong one. */
const GW1 = 'http://gw1';
const GW2 = 'http://gw2';

function site(id: number, https = false): WebsiteItem {
  return {
    website_id: id,
    primary_domain: `www.s${id}.example.com`,
    domains: [`www.s${id}.example.com`],
    cname: 'edge.example.net',
    line_group: { id: 1, name: 'lg' },
    https_enabled: https,
    status: 'active',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
}

/** Truth: events 1..n created sites 1..n; the database holds them all. */
function truthOf(n: number): TruthSource {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  return {
    websites: async () =>
      ids.map((id) => {
        const { updated_at: _, ...rest } = site(id);
        return rest;
      }),
    websiteEvents: async (after, upTo) =>
      ids
        .filter((id) => id > after && (upTo === undefined || id <= upTo))
        .map((id) => ({ id, type: 'add', websiteId: id })),
    lastWebsiteEventId: async () => n,
    nodes: async () => [],
    nodeEventIds: async () => [],
    close: async () => {},
  };
}

/** A client that got an initial at `start` holding sites 1..start, then these update ids (each adding its site). */
function client(name: string, start: number, updates: { id: number; gateway?: string }[]): RecordedClient {
  const segment: Segment = {
    feed: 'websites',
    index: 0,
    startId: start,
    gateway: GW1,
    connection: 1,
    updates: updates.map((u) => ({ eventId: u.id, gateway: u.gateway ?? GW1, connection: 1, at: 0 })),
    removed: false,
  };
  const replica = new Map<string, unknown>();
  for (let id = 1; id <= start; id++) replica.set(String(id), site(id));
  for (const u of updates) replica.set(String(u.id), site(u.id));
  return {
    name,
    feeds: ['websites'],
    segments: [segment],
    deliveries: [],
    reconnects: 0,
    gateway: GW1,
    position: (_feed: FeedName) => Math.max(start, ...segment.updates.map((u) => u.eventId)),
    replica: () => replica,
  };
}

const check = (clients: RecordedClient[], n = 6) =>
  checkHistory({ clients, truth: truthOf(n), writes: [], faults: 0, catchUpTimeoutMs: 1, pollIntervalMs: 1 });
const ids = (...list: number[]) => list.map((id) => ({ id }));

describe('history checker', () => {
  it('a right history - ordered, gap-free, replica equal: passed', async () => {
    const report = await check([client('c1', 2, ids(3, 4, 5, 6)), client('c2', 0, ids(1, 2, 3, 4, 5, 6))]);
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('passed');
  });

  it('a skipped event - reported as a gap on the gateway that delivered past it, even when filled later', async () => {
    const report = await check([client('c1', 2, [{ id: 3 }, { id: 5, gateway: GW2 }, { id: 4 }, { id: 6 }])]);
    expect(report.verdict).toBe('failed');
    expect(report.smallest).toMatchObject({ kind: 'gap', client: 'c1', gateway: GW2, span: 1 });
    expect(report.smallest?.got).toContain('missing 4 before 5');
  });

  it('a duplicated event - reported as a duplicate', async () => {
    const report = await check([client('c1', 2, ids(3, 4, 4, 5, 6))]);
    expect(report.failures.map((f) => f.kind)).toEqual(['duplicate']);
  });

  it('an event replayed from before the initial - reported as a duplicate of the snapshot', async () => {
    const report = await check([client('c1', 3, ids(3, 4, 5, 6))]);
    expect(report.failures.map((f) => f.kind)).toEqual(['duplicate']);
  });

  it('an id the log does not have - reported as unknown', async () => {
    const report = await check([client('c1', 2, ids(3, 4, 5, 6, 7))]);
    // …and the site it added is not in the database either.
    expect(report.failures.map((f) => f.kind)).toEqual(['unknown-id', 'replica']);
  });

  it('a client that stopped early - reported as behind, and its replica as different', async () => {
    const report = await check([client('c1', 2, ids(3, 4))]);
    expect(report.failures.map((f) => f.kind).sort()).toEqual(['behind', 'replica']);
  });

  it('a replica that differs from the database - reported with the item', async () => {
    const c = client('c1', 2, ids(3, 4, 5, 6));
    (c.replica('websites') as Map<string, unknown>).set('4', site(4, true));
    const report = await check([c]);
    expect(report.failures).toMatchObject([
      { kind: 'replica', client: 'c1', expected: expect.stringContaining('4:') },
    ]);
  });

  it('events published while the truth is read - judged against a later truth, not reported as unknown ids', async () => {
    // A publisher still working off a backlog: events 7 and 8 reach the client while the log is
    // read, so that read ends at 6 but the client's next look shows 8 (CI: nats-restart, nodes).
    const c = client('c1', 2, ids(3, 4, 5, 6));
    let logged = 6;
    const base = truthOf(8);
    const truth: TruthSource = {
      ...base,
      websites: async () => (await base.websites()).filter((w) => w.website_id <= logged),
      websiteEvents: async (after, upTo) => {
        const events = (await base.websiteEvents(after, upTo)).filter((e) => e.id <= logged);
        if (logged === 6) {
          logged = 8;
          for (const id of [7, 8]) {
            c.segments[0]!.updates.push({ eventId: id, gateway: GW1, connection: 1, at: 0 });
            (c.replica('websites') as Map<string, unknown>).set(String(id), site(id));
          }
        }
        return events;
      },
    };
    const report = await checkHistory({
      clients: [c],
      truth,
      writes: [],
      faults: 0,
      catchUpTimeoutMs: 60_000,
      pollIntervalMs: 1,
    });
    expect(report.failures).toEqual([]);
    expect(report.lines[0]?.text).toContain('6 updates, last id 8 of 8');
  });

  it('a lost acknowledged write - reported against the writers', async () => {
    const report = await checkHistory({
      clients: [client('c1', 0, ids(1, 2, 3, 4, 5, 6))],
      truth: truthOf(6),
      writes: [{ writer: 1, op: 'add', websiteId: 7, ok: true, status: 201, at: 0 }],
      faults: 0,
      catchUpTimeoutMs: 1,
      pollIntervalMs: 1,
    });
    expect(report.failures.map((f) => f.kind)).toEqual(['lost-write']);
  });
});

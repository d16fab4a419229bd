import type { NodeView, WebsiteItem } from '@tideline/contracts';
import type { FeedName, RecordedClient, Segment } from './recorder.ts';
import {
  type NodeTruth,
  nodeTruthOfView,
  type TruthSource,
  type WebsiteTruth,
  websiteTruthOf,
} from './truth.ts';
import type { WriteRecord } from './writers.ts';

export type FailureKind =
  | 'gap'
  | 'duplicate'
  | 'reorder'
  | 'unknown-id'
  | 'update-before-initial'
  | 'no-initial'
  | 'behind'
  | 'replica'
  | 'lost-write'
  | 'scenario';

/** One thing the history got wrong, small enough to read: where, and the ids expected vs got. */
export interface CheckFailure {
  kind: FailureKind;
  client: string;
  feed: FeedName | 'writes';
  /** The gateway the faulty delivery came through (for a gap: the one that delivered past it). */
  gateway: string;
  segment?: number;
  expected: string;
  got: string;
  /** How many ids the failing stretch spans (to pick the smallest). */
  span: number;
}

export interface CheckLine {
  ok: boolean;
  text: string;
}

export interface CheckCounts {
  writes: number;
  acknowledged: number;
  refused: number;
  /** Refused writes by HTTP status (`0`: no answer). */
  refusedByStatus: Record<string, number>;
  deliveries: number;
  updates: number;
  initials: number;
  reconnects: number;
  faults: number;
  clients: number;
}

export interface CheckReport {
  verdict: 'passed' | 'failed';
  lines: CheckLine[];
  failures: CheckFailure[];
  /** The failure with the smallest span (what to look at first), when failed. */
  smallest?: CheckFailure;
  counts: CheckCounts;
  /** ms the clients took to catch up with the truth after the writes stopped. */
  catchUpMs: number;
}

export interface CheckOptions {
  clients: RecordedClient[];
  truth: TruthSource;
  writes: WriteRecord[];
  faults: number;
  catchUpTimeoutMs: number;
  pollIntervalMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `1..4,7,9..10` — ids as short runs. */
export function runs(ids: readonly number[], max = 12): string {
  if (ids.length === 0) return '(none)';
  const parts: string[] = [];
  let start = ids[0]!;
  let prev = start;
  const flush = () => parts.push(start === prev ? String(start) : `${start}..${prev}`);
  for (const id of ids.slice(1)) {
    if (id === prev + 1) prev = id;
    else {
      flush();
      start = id;
      prev = id;
    }
  }
  flush();
  return parts.length > max ? `${parts.slice(0, max).join(',')},… (${ids.length} ids)` : parts.join(',');
}

interface FeedTruth {
  ids: number[];
  last: number;
}

async function feedTruth(truth: TruthSource, feed: FeedName): Promise<FeedTruth> {
  if (feed === 'websites') {
    const ids = (await truth.websiteEvents(0)).map((e) => e.id);
    return { ids, last: ids.at(-1) ?? 0 };
  }
  const ids = await truth.nodeEventIds(feed.slice('nodes:'.length));
  return { ids, last: ids.at(-1) ?? 0 };
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

function replicaOf(client: RecordedClient, feed: FeedName): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, item] of client.replica(feed)) {
    out.set(
      key,
      sortedJson(
        feed === 'websites' ? websiteTruthOf(item as WebsiteItem) : nodeTruthOfView(item as NodeView),
      ),
    );
  }
  return out;
}

async function truthReplica(truth: TruthSource, feed: FeedName): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (feed === 'websites') {
    for (const w of await truth.websites())
      out.set(String(w.website_id), sortedJson(w satisfies WebsiteTruth));
  } else {
    for (const n of await truth.nodes(feed.slice('nodes:'.length)))
      out.set(n.name, sortedJson(n satisfies NodeTruth));
  }
  return out;
}

/** The keys whose item differs (or exists on one side only), sorted. */
function replicaDiff(got: Map<string, string>, want: Map<string, string>): string[] {
  const keys = new Set([...got.keys(), ...want.keys()]);
  return [...keys].filter((k) => got.get(k) !== want.get(k)).sort();
}

/** A client as it is now, unaffected by what it receives later. */
function frozen(client: RecordedClient): RecordedClient {
  const feeds = [...client.feeds];
  const positions = new Map(feeds.map((f) => [f, client.position(f)] as const));
  // Updates replace items, never change them in place: copying the maps is enough.
  const replicas = new Map(feeds.map((f) => [f, new Map(client.replica(f))] as const));
  return {
    name: client.name,
    feeds,
    segments: client.segments.map((s) => ({ ...s, updates: [...s.updates] })),
    deliveries: [...client.deliveries],
    reconnects: client.reconnects,
    gateway: client.gateway,
    position: (feed) => positions.get(feed),
    replica: (feed) => replicas.get(feed) ?? new Map(),
  };
}

/**
 * Checks one segment: its updates, in the order they arrived, must be exactly the truth's ids after
 * the initial's lastEventId up to `endId`. The first place they differ is classified: an id past
 * the next expected one is a gap (even if the missing ids come later), an id seen before (or the
 * initial's own) a duplicate, an earlier id a reorder, an id the truth does not have unknown; ids
 * missing at the end of the last segment mean the client is behind.
 */
function checkSegment(
  client: RecordedClient,
  segment: Segment,
  truthIds: number[],
  endId: number,
  isLast: boolean,
): CheckFailure[] {
  const base = { client: client.name, feed: segment.feed, segment: segment.index };
  if (Number.isNaN(segment.startId)) {
    return [
      {
        ...base,
        kind: 'update-before-initial',
        gateway: segment.gateway,
        expected: 'an initial first',
        got: `updates ${runs(segment.updates.map((u) => u.eventId))}`,
        span: segment.updates.length,
      },
    ];
  }
  const expected = truthIds.filter((id) => id > segment.startId && id <= endId);
  const truthSet = new Set(truthIds);
  const got = segment.updates;
  const seen = new Set<number>([segment.startId]);
  const around = (i: number) => {
    const lo = Math.max(0, i - 3);
    return {
      expected: runs(expected.slice(lo, i + 3)),
      got: got
        .slice(lo, i + 3)
        .map((u) => u.eventId)
        .join(','),
    };
  };
  for (let i = 0; i < got.length; i++) {
    const u = got[i]!;
    const want = expected[i];
    if (u.eventId === want) {
      seen.add(u.eventId);
      continue;
    }
    const window = around(i);
    const where = `connection ${u.connection}, update #${i + 1} of the segment`;
    if (seen.has(u.eventId))
      return [
        {
          ...base,
          kind: 'duplicate',
          gateway: u.gateway,
          expected: window.expected,
          got: `${window.got} (${u.eventId} again; ${where})`,
          span: 1,
        },
      ];
    if (!truthSet.has(u.eventId) || u.eventId > endId)
      return [
        {
          ...base,
          kind: 'unknown-id',
          gateway: u.gateway,
          expected: window.expected,
          got: `${window.got} (${u.eventId} is not in the truth; ${where})`,
          span: 1,
        },
      ];
    if (want === undefined || u.eventId < want)
      return [
        {
          ...base,
          kind: 'reorder',
          gateway: u.gateway,
          expected: window.expected,
          got: `${window.got} (${u.eventId} after ${got[i - 1]?.eventId ?? segment.startId}; ${where})`,
          span: 1,
        },
      ];
    const missing = expected.filter((id) => id >= want && id < u.eventId);
    return [
      {
        ...base,
        kind: 'gap',
        gateway: u.gateway,
        expected: window.expected,
        got: `${window.got} (missing ${runs(missing)} before ${u.eventId}${missing.every((id) => got.some((x) => x.eventId === id)) ? ', delivered later out of order' : ''}; ${where})`,
        span: missing.length,
      },
    ];
  }
  if (got.length < expected.length) {
    const missing = expected.slice(got.length);
    const last = got.at(-1);
    return [
      {
        ...base,
        kind: isLast ? 'behind' : 'gap',
        gateway: last?.gateway ?? segment.gateway,
        expected: `… ${runs(missing)}`,
        got: `ended at ${last?.eventId ?? segment.startId} (connection ${last?.connection ?? segment.connection})`,
        span: missing.length,
      },
    ];
  }
  return [];
}

/**
 * Judges the recorded history against the truth. First waits (a bounded poll) until every client
 * holds the truth's last id of each of its feeds and a replica equal to it — or the bound passes,
 * and the report says who is behind. Then, per client and feed, per segment after each initial:
 * ids strictly increasing (no duplicate, no reorder), exactly the truth's ids (no gap, nothing
 * unknown); the final replica equal to the truth; every acknowledged write in the websites log.
 */
export async function checkHistory(options: CheckOptions): Promise<CheckReport> {
  const { truth } = options;
  const feeds = [...new Set(options.clients.flatMap((c) => c.feeds))];
  const started = performance.now();
  const deadline = started + options.catchUpTimeoutMs;
  let truths = new Map<FeedName, FeedTruth>();
  let replicas = new Map<FeedName, Map<string, string>>();
  let clients: RecordedClient[] = [];
  for (;;) {
    // What the clients hold is taken before the truth is read, and judged as taken: an event
    // published while the truth is read (a publisher still working off a backlog) would otherwise
    // reach the clients but not the truth, and be reported as an id the truth does not have.
    clients = options.clients.map(frozen);
    truths = new Map(await Promise.all(feeds.map(async (f) => [f, await feedTruth(truth, f)] as const)));
    replicas = new Map(await Promise.all(feeds.map(async (f) => [f, await truthReplica(truth, f)] as const)));
    const caughtUp = clients.every((c) =>
      c.feeds.every(
        (f) =>
          (c.position(f) ?? -1) >= truths.get(f)!.last &&
          replicaDiff(replicaOf(c, f), replicas.get(f)!).length === 0,
      ),
    );
    if (caughtUp || performance.now() >= deadline) break;
    await sleep(options.pollIntervalMs);
  }
  const catchUpMs = Math.round(performance.now() - started);

  const lines: CheckLine[] = [];
  const failures: CheckFailure[] = [];
  for (const client of clients) {
    for (const feed of client.feeds) {
      const t = truths.get(feed)!;
      const segments = client.segments.filter((s) => s.feed === feed);
      const found: CheckFailure[] = [];
      if (segments.length === 0) {
        found.push({
          kind: 'no-initial',
          client: client.name,
          feed,
          gateway: client.gateway,
          expected: `an initial, then ids up to ${t.last}`,
          got: 'no initial',
          span: t.last,
        });
      }
      for (const [i, segment] of segments.entries()) {
        const isLast = i === segments.length - 1 && !segment.removed;
        const endId = isLast ? t.last : (segment.updates.at(-1)?.eventId ?? segment.startId);
        found.push(...checkSegment(client, segment, t.ids, endId, isLast));
      }
      const updates = segments.reduce((n, s) => n + s.updates.length, 0);
      const position = client.position(feed);
      lines.push({
        ok: found.length === 0,
        text: `${found.length === 0 ? 'ok  ' : 'FAIL'} ${client.name} ${feed}: ${segments.length} segment(s), ${updates} updates, last id ${position ?? '-'} of ${t.last}${found.length === 0 ? ', ordered, no duplicate, no gap' : `: ${found.map((f) => f.kind).join(', ')}`}`,
      });
      failures.push(...found);

      const diff = replicaDiff(replicaOf(client, feed), replicas.get(feed)!);
      if (diff.length > 0) {
        const key = diff[0]!;
        const gotItem = replicaOf(client, feed).get(key);
        const wantItem = replicas.get(feed)!.get(key);
        failures.push({
          kind: 'replica',
          client: client.name,
          feed,
          gateway: client.gateway,
          expected: `${key}: ${wantItem ?? '(absent)'}`,
          got: `${key}: ${gotItem ?? '(absent)'} (${diff.length} item(s) differ: ${diff.slice(0, 5).join(',')})`,
          span: diff.length,
        });
      }
      lines.push({
        ok: diff.length === 0,
        text: `${diff.length === 0 ? 'ok  ' : 'FAIL'} ${client.name} ${feed}: replica ${diff.length === 0 ? 'equals' : 'differs from'} the truth (${replicas.get(feed)!.size} items${diff.length > 0 ? `, ${diff.length} differ` : ''})`,
      });
    }
  }

  // Every acknowledged write is in the websites log (by type and website).
  const acknowledged = options.writes.filter((w) => w.ok);
  if (acknowledged.length > 0) {
    const events = await truth.websiteEvents(0);
    const logged = new Map<string, number>();
    for (const e of events)
      logged.set(`${e.type}:${e.websiteId}`, (logged.get(`${e.type}:${e.websiteId}`) ?? 0) + 1);
    const wanted = new Map<string, number>();
    for (const w of acknowledged)
      wanted.set(`${w.op}:${w.websiteId}`, (wanted.get(`${w.op}:${w.websiteId}`) ?? 0) + 1);
    const lost = [...wanted].filter(([key, n]) => (logged.get(key) ?? 0) < n).map(([key]) => key);
    if (lost.length > 0) {
      failures.push({
        kind: 'lost-write',
        client: 'writers',
        feed: 'writes',
        gateway: '-',
        expected: 'every acknowledged write in ws_events',
        got: `missing: ${lost.slice(0, 10).join(', ')}${lost.length > 10 ? ', …' : ''}`,
        span: lost.length,
      });
    }
    lines.push({
      ok: lost.length === 0,
      text: `${lost.length === 0 ? 'ok  ' : 'FAIL'} writes: ${acknowledged.length} acknowledged, ${lost.length === 0 ? 'all' : `${acknowledged.length - lost.length}`} in the websites log (${events.length} events)`,
    });
  }

  const deliveries = clients.reduce((n, c) => n + c.deliveries.length, 0);
  const counts: CheckCounts = {
    writes: options.writes.length,
    acknowledged: acknowledged.length,
    refused: options.writes.length - acknowledged.length,
    refusedByStatus: options.writes
      .filter((w) => !w.ok)
      .reduce<Record<string, number>>((m, w) => {
        m[String(w.status)] = (m[String(w.status)] ?? 0) + 1;
        return m;
      }, {}),
    deliveries,
    updates: clients.reduce((n, c) => n + c.deliveries.filter((d) => d.kind === 'update').length, 0),
    initials: clients.reduce((n, c) => n + c.deliveries.filter((d) => d.kind === 'initial').length, 0),
    reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
    faults: options.faults,
    clients: clients.length,
  };
  const smallest = [...failures].sort((a, b) => a.span - b.span)[0];
  return {
    verdict: failures.length === 0 ? 'passed' : 'failed',
    lines,
    failures,
    ...(smallest ? { smallest } : {}),
    counts,
    catchUpMs,
  };
}

/** The report as text: one line per check, the smallest failing segment, the summary line. */
export function formatReport(name: string, report: CheckReport): string {
  const out = report.lines.map((l) => `  ${l.text}`);
  if (report.smallest) {
    const f = report.smallest;
    out.push(
      `  smallest failing segment: ${f.kind} — client ${f.client}, feed ${f.feed}${f.segment === undefined ? '' : `, segment ${f.segment}`}, gateway ${f.gateway}: expected ${f.expected}; got ${f.got}`,
    );
  }
  const c = report.counts;
  out.push(
    `${name}: ${report.verdict === 'passed' ? 'passed' : 'FAILED'} — writes ${c.writes} (acknowledged ${c.acknowledged}, refused ${c.refused}${
      c.refused
        ? ` by status ${Object.entries(c.refusedByStatus)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')}`
        : ''
    }), deliveries ${c.deliveries} (${c.initials} initials, ${c.updates} updates), reconnects ${c.reconnects}, faults injected ${c.faults}, clients ${c.clients}, caught up in ${report.catchUpMs} ms${report.failures.length ? `, ${report.failures.length} failure(s)` : ''}`,
  );
  return out.join('\n');
}

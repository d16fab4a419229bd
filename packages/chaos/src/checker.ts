import type { NodeView, WebsiteItem } from '@tideline/contracts';
import type { FeedName, RecordingClient, Segment } from './recorder.ts';
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
  clients: RecordingClient[];
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

function replicaOf(client: RecordingClient, feed: FeedName): Map<string, string> {
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

/** Checks one segment: strictly increasing after its initial, and exactly the truth's ids up to `endId`. */
function checkSegment(
  client: RecordingClient,
  segment: Segment,
  truthIds: number[],
  endId: number,
): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const base = { client: client.options.name, feed: segment.feed, segment: segment.index };
  if (Number.isNaN(segment.startId)) {
    failures.push({
      ...base,
      kind: 'update-before-initial',
      gateway: segment.gateway,
      expected: 'an initial first',
      got: `updates ${runs(segment.updates.map((u) => u.eventId))}`,
      span: segment.updates.length,
    });
    return failures;
  }
  // Ordering: every id above the one before it (the initial's lastEventId first).
  let last = segment.startId;
  const seen = new Set<number>();
  for (const [i, u] of segment.updates.entries()) {
    if (u.eventId <= last) {
      const kind = seen.has(u.eventId) || u.eventId === segment.startId ? 'duplicate' : 'reorder';
      const window = segment.updates.slice(Math.max(0, i - 3), i + 1).map((x) => x.eventId);
      failures.push({
        ...base,
        kind,
        gateway: u.gateway,
        expected: `an id above ${last}`,
        got: `${u.eventId} (connection ${u.connection}; last ids ${window.join(',')})`,
        span: Math.max(1, last - u.eventId + 1),
      });
      break;
    }
    seen.add(u.eventId);
    last = u.eventId;
  }
  // Gap-free: exactly the truth's ids after the initial, up to the end of the segment.
  const expected = truthIds.filter((id) => id > segment.startId && id <= endId);
  const got = [...new Set(segment.updates.map((u) => u.eventId))].sort((a, b) => a - b);
  const gotSet = new Set(got);
  const expectedSet = new Set(expected);
  const missing = expected.filter((id) => !gotSet.has(id));
  const unknown = got.filter((id) => !expectedSet.has(id) && id <= endId);
  if (missing.length > 0) {
    const first = missing[0]!;
    const after = segment.updates.find((u) => u.eventId > first);
    const lo = Math.max(segment.startId + 1, first - 2);
    const hi = (missing.find((id, i) => missing[i + 1] !== id + 1) ?? first) + 2;
    failures.push({
      ...base,
      kind: 'gap',
      gateway: after?.gateway ?? segment.gateway,
      expected: runs(expected.filter((id) => id >= lo && id <= hi)),
      got: `${runs(got.filter((id) => id >= lo && id <= hi))} (missing ${runs(missing)}${after ? `; next delivered ${after.eventId} via connection ${after.connection}` : ''})`,
      span: hi - lo + 1,
    });
  }
  if (unknown.length > 0) {
    const u = segment.updates.find((x) => x.eventId === unknown[0]);
    failures.push({
      ...base,
      kind: 'unknown-id',
      gateway: u?.gateway ?? segment.gateway,
      expected: 'ids of the truth only',
      got: `ids not in the truth: ${runs(unknown)}`,
      span: unknown.length,
    });
  }
  return failures;
}

/**
 * Judges the recorded history against the truth. First waits (a bounded poll) until every client
 * holds the truth's last id of each of its feeds and a replica equal to it — or the bound passes,
 * and the report says who is behind. Then, per client and feed, per segment after each initial:
 * ids strictly increasing (no duplicate, no reorder), exactly the truth's ids (no gap, nothing
 * unknown); the final replica equal to the truth; every acknowledged write in the websites log.
 */
export async function checkHistory(options: CheckOptions): Promise<CheckReport> {
  const { clients, truth } = options;
  const feeds = [...new Set(clients.flatMap((c) => c.feeds))];
  const started = performance.now();
  const deadline = started + options.catchUpTimeoutMs;
  let truths = new Map<FeedName, FeedTruth>();
  let replicas = new Map<FeedName, Map<string, string>>();
  for (;;) {
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
          client: client.options.name,
          feed,
          gateway: client.sdk.currentUrl,
          expected: `an initial, then ids up to ${t.last}`,
          got: 'no initial',
          span: t.last,
        });
      }
      for (const [i, segment] of segments.entries()) {
        const isLast = i === segments.length - 1;
        const endId =
          isLast && !segment.removed ? t.last : (segment.updates.at(-1)?.eventId ?? segment.startId);
        found.push(...checkSegment(client, segment, t.ids, endId));
      }
      const position = client.position(feed);
      if (segments.length > 0 && (position ?? -1) < t.last && !found.some((f) => f.kind === 'gap')) {
        const segment = segments.at(-1)!;
        found.push({
          kind: 'behind',
          client: client.options.name,
          feed,
          gateway: segment.updates.at(-1)?.gateway ?? segment.gateway,
          segment: segment.index,
          expected: `ids up to ${t.last}`,
          got: `up to ${position} after ${options.catchUpTimeoutMs} ms`,
          span: t.last - (position ?? 0),
        });
      }
      const updates = segments.reduce((n, s) => n + s.updates.length, 0);
      lines.push({
        ok: found.length === 0,
        text: `${found.length === 0 ? 'ok  ' : 'FAIL'} ${client.options.name} ${feed}: ${segments.length} segment(s), ${updates} updates, last id ${position ?? '-'} of ${t.last}${found.length === 0 ? ', ordered, no duplicate, no gap' : `: ${found.map((f) => f.kind).join(', ')}`}`,
      });
      failures.push(...found);

      const diff = replicaDiff(replicaOf(client, feed), replicas.get(feed)!);
      if (diff.length > 0) {
        const key = diff[0]!;
        const gotItem = replicaOf(client, feed).get(key);
        const wantItem = replicas.get(feed)!.get(key);
        failures.push({
          kind: 'replica',
          client: client.options.name,
          feed,
          gateway: client.sdk.currentUrl,
          expected: `${key}: ${wantItem ?? '(absent)'}`,
          got: `${key}: ${gotItem ?? '(absent)'} (${diff.length} item(s) differ: ${diff.slice(0, 5).join(',')})`,
          span: diff.length,
        });
      }
      lines.push({
        ok: diff.length === 0,
        text: `${diff.length === 0 ? 'ok  ' : 'FAIL'} ${client.options.name} ${feed}: replica ${diff.length === 0 ? 'equals' : 'differs from'} the truth (${replicas.get(feed)!.size} items${diff.length > 0 ? `, ${diff.length} differ` : ''})`,
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
    `${name}: ${report.verdict === 'passed' ? 'passed' : 'FAILED'} — writes ${c.writes} (acknowledged ${c.acknowledged}, refused ${c.refused}), deliveries ${c.deliveries} (${c.initials} initials, ${c.updates} updates), reconnects ${c.reconnects}, faults injected ${c.faults}, clients ${c.clients}, caught up in ${report.catchUpMs} ms${report.failures.length ? `, ${report.failures.length} failure(s)` : ''}`,
  );
  return out.join('\n');
}

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterFeeds } from './cluster-feeds.ts';
import { SourceNotFoundError, SourceUnavailableError } from './errors.ts';
import { Feed, type SyncRequest } from './feed.ts';
import { silentObserver } from './feed-observer.ts';
import type { FeedOutlet, FeedReplay, ReplayRequest } from './ports.ts';
import { SnapshotGate } from './snapshot-gate.ts';

/**
 * Model-based test of Feed + ClusterFeeds: random histories of syncs, leaves, bus deliveries (out
 * of order, redelivered), slow and failing snapshots/replays, gap waits and cluster removal and
 * re-registration, a bounded gap hold (overflow → snapshot) and a limit on how often a member is
 * sent a snapshot it asked for, checked against what a client may receive. Everything is driven by the test:
 * source answers are settled by hand and the gap wait runs on fake timers.
 */

interface Initial {
  lastEventId: number;
}
interface Update {
  eventId: number;
}

const CLUSTER = 'c';
const GAP_WAIT_MS = 10;
const REPLAY_LIMIT = 3;
const BUFFER_MAX_EVENTS = 5;
/** Events held behind a gap before the member is resynced by snapshot instead. */
const HOLD_MAX_EVENTS = 2;
/** A member asking for a snapshot again within this (on the test's clock) is refused. */
const RESNAPSHOT_INTERVAL_MS = 3 * GAP_WAIT_MS;
/** Across all histories: how often the hold overflowed, and the largest hold dropped. */
const holdOverflows = { count: 0, largest: 0 };
const MEMBERS = ['m0', 'm1', 'm2'] as const;

type Op =
  | { op: 'sync'; member: number; resume: boolean }
  | { op: 'leave'; member: number }
  | { op: 'publish' }
  | { op: 'deliver'; pick: number }
  | { op: 'redeliver'; pick: number }
  | { op: 'answer'; pick: number; ok: boolean; lag: number }
  | { op: 'tick' }
  | { op: 'unregister' }
  | { op: 'register' };

const member = fc.nat({ max: MEMBERS.length - 1 });
/** Mostly true: sources answer more often than they fail. */
const mostly = fc.oneof(
  { weight: 3, arbitrary: fc.constant(true) },
  { weight: 1, arbitrary: fc.constant(false) },
);
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('sync' as const), member, resume: mostly }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('leave' as const), member }) },
  { weight: 6, arbitrary: fc.constant({ op: 'publish' as const }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('deliver' as const), pick: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('redeliver' as const), pick: fc.nat(7) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('answer' as const),
      pick: fc.nat(3),
      ok: mostly,
      lag: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'unregister' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'register' as const }) },
);

/** What the cluster's upstream log holds: the source of truth both the bus and the source read. */
class Upstream {
  published = 0;
  registered = true;
  /** Id of the latest registration; replays cannot reach across it. */
  epochStart = 0;

  snapshot(lag: number): Initial {
    if (!this.registered) throw new SourceNotFoundError(`no cluster ${CLUSTER}`);
    return { lastEventId: Math.max(this.epochStart, this.published - lag) };
  }

  replay(request: ReplayRequest, lag: number): FeedReplay<Update> {
    const after = request.after.eventId;
    if (!this.registered || after < this.epochStart) return { kind: 'fallback', reason: 'purged' };
    if (after > this.published) return { kind: 'fallback', reason: 'future' };
    const until = Math.max(after, this.published - lag);
    if (until - after > request.limit) return { kind: 'fallback', reason: 'too-many' };
    const updates: Update[] = [];
    for (let id = after + 1; id <= until; id++) if (id !== this.epochStart) updates.push({ eventId: id });
    return { kind: 'events', updates };
  }
}

interface Pending {
  settle(ok: boolean, lag: number): void;
}

type BusEvent = { kind: 'node' | 'unregistered' | 'registered'; eventId: number };

/** A client as the model sees it: what it holds, and whether anything may reach it. */
class ClientModel {
  /** The last id it holds (from an initial, then updates); undefined before any. */
  position: number | undefined;
  /** False after it left, or its stream ended: nothing may reach it until it syncs again. */
  active = false;
  issued = 0;
  lastSettled: { seq: number; ok: boolean } | undefined;
  readonly violations: string[] = [];
  readonly log: string[] = [];

  constructor(readonly id: string) {}

  receive(message: string, check: () => string | undefined): void {
    this.log.push(message);
    if (!this.active) this.violations.push(`${this.id} received ${message} after it left`);
    const problem = check();
    if (problem) this.violations.push(`${this.id}: ${problem} (received ${this.log.join(', ')})`);
  }

  initial(lastEventId: number): void {
    this.receive(`initial@${lastEventId}`, () => undefined);
    this.position = lastEventId;
  }

  update(eventId: number): void {
    this.receive(`update#${eventId}`, () => {
      if (this.position === undefined) return `update #${eventId} before any initial`;
      if (eventId <= this.position) return `duplicate #${eventId} at ${this.position}`;
      if (eventId !== this.position + 1) return `gap: #${eventId} at ${this.position}`;
      return undefined;
    });
    this.position = eventId;
  }

  ended(eventId: number): void {
    this.receive(`ended#${eventId}`, () => undefined);
    this.position = undefined;
    this.active = false;
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runHistory(ops: Op[]): Promise<string[]> {
  const upstream = new Upstream();
  const pending: Pending[] = [];
  const inflight: BusEvent[] = [];
  const delivered: BusEvent[] = [];
  const clients = new Map(MEMBERS.map((id) => [id, new ClientModel(id)]));
  const rooms = new Map<string, Set<string>>();
  const violations: string[] = [];
  let clock = 0;

  const outlet: FeedOutlet<Initial, Update> = {
    join: (id, room) => rooms.set(id, (rooms.get(id) ?? new Set()).add(room)),
    leave: (id, room) => rooms.get(id)?.delete(room),
    initial: (id, message) => clients.get(id as never)!.initial(message.lastEventId),
    update: (id, message) => clients.get(id as never)!.update(message.eventId),
    broadcast: (room, except, message, recipients) => {
      let reached = 0;
      for (const client of clients.values()) {
        if (!rooms.get(client.id)?.has(room) || except.includes(client.id)) continue;
        reached++;
        client.update(message.eventId);
      }
      if (reached !== recipients)
        violations.push(`broadcast of #${message.eventId} counted ${recipients}, reached ${reached}`);
    },
    ended: (id, eventId) => clients.get(id as never)!.ended(eventId),
  };
  const ask = <T>(answer: (lag: number) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      pending.push({
        settle: (ok, lag) => {
          if (!ok) return reject(new SourceUnavailableError('source down'));
          try {
            resolve(answer(lag));
          } catch (error) {
            reject(error);
          }
        },
      });
    });
  const snapshotGate = new SnapshotGate({ intervalMs: RESNAPSHOT_INTERVAL_MS, now: () => clock });
  const feeds = new ClusterFeeds<Initial, Update>(
    (cluster) =>
      new Feed<Initial, Update>({
        room: `nodes:${cluster}`,
        source: {
          snapshot: () => ask((lag) => upstream.snapshot(lag)),
          replay: (request) => ask((lag) => upstream.replay(request, lag)),
        },
        outlet,
        replayLimit: REPLAY_LIMIT,
        snapshotReuseMs: GAP_WAIT_MS,
        bufferMaxEvents: BUFFER_MAX_EVENTS,
        gapWaitMs: GAP_WAIT_MS,
        holdMaxEvents: HOLD_MAX_EVENTS,
        snapshotGate,
        observer: {
          ...silentObserver,
          holdOverflow: (_memberId, held) => {
            holdOverflows.count++;
            holdOverflows.largest = Math.max(holdOverflows.largest, held);
          },
        },
        now: () => clock,
      }),
  );

  const sync = (client: ClientModel, resume: boolean) => {
    const request: SyncRequest =
      resume && !client.active && client.position !== undefined
        ? { after: { eventId: client.position } }
        : {};
    client.active = true;
    const seq = ++client.issued;
    feeds.sync(CLUSTER, client.id, request).then(
      () => (client.lastSettled = { seq, ok: true }),
      () => (client.lastSettled = { seq, ok: false }),
    );
  };
  const deliver = (event: BusEvent) => {
    delivered.push(event);
    if (event.kind === 'node') feeds.deliver(CLUSTER, { eventId: event.eventId });
    else if (event.kind === 'unregistered') feeds.removed(CLUSTER, event.eventId);
    else feeds.registered(CLUSTER, event.eventId);
  };
  const publish = (kind: BusEvent['kind']) => {
    const eventId = ++upstream.published;
    if (kind === 'unregistered') upstream.registered = false;
    if (kind === 'registered') {
      upstream.registered = true;
      upstream.epochStart = eventId;
    }
    inflight.push({ kind, eventId });
  };
  const tick = () => {
    clock += GAP_WAIT_MS;
    vi.advanceTimersByTime(GAP_WAIT_MS);
  };

  for (const op of ops) {
    switch (op.op) {
      case 'sync':
        sync(clients.get(MEMBERS[op.member]!)!, op.resume);
        break;
      case 'leave': {
        const client = clients.get(MEMBERS[op.member]!)!;
        feeds.leave(CLUSTER, client.id);
        client.active = false;
        break;
      }
      case 'publish':
        if (upstream.registered) publish('node');
        break;
      case 'deliver':
        if (inflight.length > 0) deliver(inflight.splice(op.pick % inflight.length, 1)[0]!);
        break;
      case 'redeliver':
        if (delivered.length > 0) deliver(delivered[op.pick % delivered.length]!);
        break;
      case 'answer':
        if (pending.length > 0) pending.splice(op.pick % pending.length, 1)[0]!.settle(op.ok, op.lag);
        break;
      case 'tick':
        tick();
        break;
      case 'unregister':
        if (upstream.registered) publish('unregistered');
        break;
      case 'register':
        if (!upstream.registered) publish('registered');
        break;
    }
    await flush();
  }

  // Quiesce: the bus delivers what is in flight, the source answers, gap waits pass; then one
  // more event must reach every member that is in (or was told it is in) the feed.
  const settle = async () => {
    for (let round = 0; round < 50; round++) {
      while (inflight.length > 0) deliver(inflight.shift()!);
      while (pending.length > 0) pending.shift()!.settle(true, 0);
      tick();
      await flush();
      if (inflight.length === 0 && pending.length === 0 && vi.getTimerCount() === 0) return;
    }
    violations.push('the feeds did not settle');
  };
  await settle();
  if (upstream.registered) {
    publish('node');
    await settle();
  }
  for (const client of clients.values()) {
    violations.push(...client.violations);
    const followed = feeds.followedBy(client.id).includes(CLUSTER);
    const told = client.active && client.lastSettled?.seq === client.issued && client.lastSettled.ok;
    if (told && !followed)
      violations.push(`${client.id} was told it follows ${CLUSTER}, but no feed holds it`);
    if ((told || followed) && client.position !== upstream.published) {
      violations.push(`${client.id} is at ${client.position}, the cluster at ${upstream.published}`);
    }
  }
  return violations;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Feed and ClusterFeeds (model-based)', () => {
  it('every member gets, after its snapshot or replay, a gap-free, duplicate-free, ordered stream; a member that left gets nothing; nobody is left in a dropped feed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 10, maxLength: 60 }), async (ops) => {
        expect(await runHistory(ops)).toEqual([]);
      }),
      { numRuns: 1_000, seed: 20261129 },
    );
    // The histories did overflow the gap hold; what was dropped never exceeded the hold plus one
    // sync's buffer and one replay (a failed resync gives its events back to the hold, then flushes).
    expect(holdOverflows.count).toBeGreaterThan(0);
    expect(holdOverflows.largest).toBeLessThanOrEqual(HOLD_MAX_EVENTS + BUFFER_MAX_EVENTS + REPLAY_LIMIT);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedError, SourceUnavailableError, SyncOverflowError } from './errors.ts';
import { Feed } from './feed.ts';
import { type FeedObserver, silentObserver } from './feed-observer.ts';
import type { FeedOutlet, FeedReplay, FeedSource, ReplayRequest } from './ports.ts';
import { SnapshotGate } from './snapshot-gate.ts';

interface Initial {
  lastEventId: number;
  items: string[];
}
interface Update {
  eventId: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A source whose every answer the test hands out by hand, counting the queries. */
class ManualSource implements FeedSource<Initial, Update> {
  readonly snapshots: Deferred<Initial>[] = [];
  readonly replays: { request: ReplayRequest; answer: Deferred<FeedReplay<Update>> }[] = [];
  snapshot(): Promise<Initial> {
    const d = deferred<Initial>();
    this.snapshots.push(d);
    return d.promise;
  }
  replay(request: ReplayRequest): Promise<FeedReplay<Update>> {
    const answer = deferred<FeedReplay<Update>>();
    this.replays.push({ request, answer });
    return answer.promise;
  }
}

type Received =
  | { kind: 'initial'; lastEventId: number }
  | { kind: 'update'; eventId: number }
  | { kind: 'ended'; eventId: number };

/** A socket that records what it was sent, directly or through the room broadcast. */
class Recorder {
  readonly received: Received[] = [];
  readonly rooms = new Set<string>();
  constructor(readonly id: string) {}
  updates(): number[] {
    return this.received.flatMap((r) => (r.kind === 'update' ? [r.eventId] : []));
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

function setup(
  overrides: {
    snapshotReuseMs?: number;
    bufferMaxEvents?: number;
    replayLimit?: number;
    gapWaitMs?: number;
    holdMaxEvents?: number;
    resnapshotIntervalMs?: number;
  } = {},
) {
  const source = new ManualSource();
  const members = new Map<string, Recorder>();
  const at = (id: string) => members.get(id)!;
  let clock = 0;
  const overflows: { memberId: string; held: number }[] = [];
  const observer: FeedObserver = {
    ...silentObserver,
    holdOverflow: (memberId, held) => overflows.push({ memberId, held }),
  };
  const outlet: FeedOutlet<Initial, Update> = {
    join: (id, room) => at(id).rooms.add(room),
    leave: (id, room) => at(id).rooms.delete(room),
    initial: (id, message) => at(id).received.push({ kind: 'initial', lastEventId: message.lastEventId }),
    update: (id, message) => at(id).received.push({ kind: 'update', eventId: message.eventId }),
    broadcast: (room, except, message) => {
      for (const member of members.values()) {
        if (member.rooms.has(room) && !except.includes(member.id))
          member.received.push({ kind: 'update', eventId: message.eventId });
      }
    },
    ended: (id, eventId) => at(id).received.push({ kind: 'ended', eventId }),
  };
  const feed = new Feed<Initial, Update>({
    room: 'websites',
    source,
    outlet,
    replayLimit: overrides.replayLimit ?? 500,
    snapshotReuseMs: overrides.snapshotReuseMs ?? 0,
    bufferMaxEvents: overrides.bufferMaxEvents ?? 1_000,
    gapWaitMs: overrides.gapWaitMs ?? 50,
    holdMaxEvents: overrides.holdMaxEvents ?? 1_000,
    snapshotGate:
      overrides.resnapshotIntervalMs === undefined
        ? undefined
        : new SnapshotGate({ intervalMs: overrides.resnapshotIntervalMs, now: () => clock }),
    observer,
    now: () => clock,
  });
  const member = (id: string) => {
    const recorder = new Recorder(id);
    members.set(id, recorder);
    return recorder;
  };
  return { source, feed, member, overflows, advance: (ms: number) => (clock += ms) };
}

/** Lets the gap wait (or any feed timer) pass, then the work it started run. */
async function wait(ms: number): Promise<void> {
  await flush();
  vi.advanceTimersByTime(ms);
  await flush();
}

const snapshotAt = (lastEventId: number): Initial => ({ lastEventId, items: [] });
const events = (...ids: number[]): FeedReplay<Update> => ({
  kind: 'events',
  updates: ids.map((eventId) => ({ eventId })),
});

describe('Feed', () => {
  it('snapshot - a member gets the snapshot, then every later event once, in order', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, {});
    expect(a.rooms.has('websites')).toBe(true);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(10));
    await synced;
    for (const id of [11, 12, 12, 13]) feed.deliver({ eventId: id });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 10 },
      { kind: 'update', eventId: 11 },
      { kind: 'update', eventId: 12 },
      { kind: 'update', eventId: 13 },
    ]);
  });

  it('race - events delivered while the snapshot is in flight are buffered; those it covers are dropped', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, {});
    // The snapshot query runs; the bus delivers 5..8 meanwhile, and the snapshot turns out to cover up to 6.
    for (const id of [5, 6, 7, 8]) feed.deliver({ eventId: id });
    expect(a.received).toEqual([]);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(6));
    await synced;
    feed.deliver({ eventId: 9 });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 6 },
      { kind: 'update', eventId: 7 },
      { kind: 'update', eventId: 8 },
      { kind: 'update', eventId: 9 },
    ]);
  });

  it('replay - exactly the missed events, in order, then live without duplicates', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, { after: { eventId: 20, epoch: 'v1' } });
    feed.deliver({ eventId: 22 });
    await flush();
    expect(source.replays[0]!.request).toEqual({ after: { eventId: 20, epoch: 'v1' }, limit: 500 });
    await flush();
    source.replays[0]!.answer.resolve(events(21, 22, 23));
    await synced;
    feed.deliver({ eventId: 23 });
    feed.deliver({ eventId: 24 });
    expect(a.received.map((r) => r.kind)).not.toContain('initial');
    expect(a.updates()).toEqual([21, 22, 23, 24]);
  });

  it('replay - a fallback answer sends one snapshot instead', async () => {
    const { source, feed, member } = setup({ replayLimit: 3 });
    const a = member('a');
    const synced = feed.sync(a.id, { after: { eventId: 1 } });
    await flush();
    source.replays[0]!.answer.resolve({ kind: 'fallback', reason: 'too-many' });
    await flush();
    expect(source.replays[0]!.request.limit).toBe(3);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(50));
    await synced;
    expect(a.received).toEqual([{ kind: 'initial', lastEventId: 50 }]);
  });

  it('coalescing - 200 members syncing at once cause one snapshot query', async () => {
    const { source, feed, member } = setup();
    const members = Array.from({ length: 200 }, (_, i) => member(`m${i}`));
    const synced = members.map((m) => feed.sync(m.id, {}));
    await flush();
    expect(source.snapshots).toHaveLength(1);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(3));
    await Promise.all(synced);
    feed.deliver({ eventId: 4 });
    for (const m of members)
      expect(m.received).toEqual([
        { kind: 'initial', lastEventId: 3 },
        { kind: 'update', eventId: 4 },
      ]);
  });

  it('coalescing - replays are shared per (version, after) only', async () => {
    const { source, feed, member } = setup();
    const same = [member('a'), member('b'), member('c')].map((m) =>
      feed.sync(m.id, { after: { eventId: 5, epoch: 'v' } }),
    );
    const other = feed.sync(member('d').id, { after: { eventId: 6, epoch: 'v' } });
    const otherVersion = feed.sync(member('e').id, { after: { eventId: 5, epoch: 'w' } });
    await flush();
    expect(source.replays.map((r) => `${r.request.after.epoch}|${r.request.after.eventId}`).sort()).toEqual([
      'v|5',
      'v|6',
      'w|5',
    ]);
    for (const r of source.replays) r.answer.resolve(events(7));
    await Promise.all([...same, other, otherVersion]);
  });

  it("coalescing - a shared answer older than a member's join is not used when it misses an event", async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const first = feed.sync(a.id, {});
    await flush();
    // The query for `a` runs and is answered as of 10; before the answer arrives the bus delivers 11,
    // then `b` joins (so 11 is not in b's buffer) and would share a's flight.
    feed.deliver({ eventId: 11 });
    const b = member('b');
    const second = feed.sync(b.id, {});
    await flush();
    expect(source.snapshots).toHaveLength(1);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(10));
    await first;
    await flush();
    // a is fine (11 was buffered for it); b needs a newer snapshot.
    expect(source.snapshots).toHaveLength(2);
    await flush();
    source.snapshots[1]!.resolve(snapshotAt(11));
    await second;
    feed.deliver({ eventId: 12 });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 10 },
      { kind: 'update', eventId: 11 },
      { kind: 'update', eventId: 12 },
    ]);
    expect(b.received).toEqual([
      { kind: 'initial', lastEventId: 11 },
      { kind: 'update', eventId: 12 },
    ]);
  });

  it('reuse - a recent snapshot serves later members until a newer event arrives or it ages out', async () => {
    const { source, feed, member, advance } = setup({ snapshotReuseMs: 1_000 });
    const first = feed.sync(member('a').id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(10));
    await first;
    await feed.sync(member('b').id, {});
    expect(source.snapshots).toHaveLength(1);
    feed.deliver({ eventId: 11 });
    const third = feed.sync(member('c').id, {});
    await flush();
    expect(source.snapshots).toHaveLength(2);
    await flush();
    source.snapshots[1]!.resolve(snapshotAt(11));
    await third;
    advance(1_001);
    const fourth = feed.sync(member('d').id, {});
    await flush();
    expect(source.snapshots).toHaveLength(3);
    await flush();
    source.snapshots[2]!.resolve(snapshotAt(11));
    await fourth;
  });

  it("ahead - a member whose replay went past this gateway's bus position skips those events when they arrive", async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, { after: { eventId: 0 } });
    await flush();
    source.replays[0]!.answer.resolve(events(1, 2, 3));
    await synced;
    for (const id of [1, 2, 3, 4]) feed.deliver({ eventId: id });
    expect(a.updates()).toEqual([1, 2, 3, 4]);
  });

  it('failure - a new member whose query fails leaves the feed; a live member stays live', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.reject(new SourceUnavailableError('down'));
    await expect(synced).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(feed.has('a')).toBe(false);
    expect(a.rooms.size).toBe(0);

    const b = member('b');
    const bSynced = feed.sync(b.id, {});
    await flush();
    source.snapshots[1]!.resolve(snapshotAt(1));
    await bSynced;
    const resync = feed.sync(b.id, { after: { eventId: 1 } });
    feed.deliver({ eventId: 2 });
    await flush();
    source.replays[0]!.answer.reject(new SourceUnavailableError('down'));
    await expect(resync).rejects.toBeInstanceOf(SourceUnavailableError);
    feed.deliver({ eventId: 3 });
    expect(b.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'update', eventId: 2 },
      { kind: 'update', eventId: 3 },
    ]);
  });

  it('overflow - a member whose buffer overflows during its sync is refused and removed', async () => {
    const { source, feed, member } = setup({ bufferMaxEvents: 100 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    for (let id = 1; id <= 101; id++) feed.deliver({ eventId: id });
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(0));
    await expect(synced).rejects.toBeInstanceOf(SyncOverflowError);
    expect(feed.has('a')).toBe(false);
  });

  it('remove - a member removed during its sync is sent nothing', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    expect(feed.remove('a')).toBe(true);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    feed.deliver({ eventId: 2 });
    expect(a.received).toEqual([]);
    expect(feed.size).toBe(0);
  });

  it('serial - a second request of one member waits for the first and replaces its stream', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const first = feed.sync(a.id, {});
    const second = feed.sync(a.id, { after: { eventId: 5 } });
    await flush();
    expect(source.replays).toHaveLength(0);
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(5));
    await first;
    await flush();
    source.replays[0]!.answer.resolve(events(6));
    await second;
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 5 },
      { kind: 'update', eventId: 6 },
    ]);
  });

  it('gap - events published out of order are held and sent in id order, without a repair query', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 10_000 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(7));
    await synced;
    for (const id of [10, 8, 9, 11]) feed.deliver({ eventId: id });
    expect(a.updates()).toEqual([8, 9, 10, 11]);
    expect(source.replays).toHaveLength(0);
  });

  it('gap - a missing event is repaired by one replay from the last id, shared by every member at that id', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 30 });
    const members = [member('a'), member('b'), member('c')];
    const synced = members.map((m) => feed.sync(m.id, {}));
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(5));
    await Promise.all(synced);
    feed.deliver({ eventId: 7 });
    feed.deliver({ eventId: 8 });
    for (const m of members) expect(m.updates()).toEqual([]);
    await wait(60);
    expect(source.replays.map((r) => r.request.after.eventId)).toEqual([5]);
    source.replays[0]!.answer.resolve(events(6, 7, 8));
    await flush();
    feed.deliver({ eventId: 9 });
    for (const m of members) expect(m.updates()).toEqual([6, 7, 8, 9]);
  });

  it('gap - a hole left in the buffer after a sync is held too, and closes when the event arrives', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 10_000 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    feed.deliver({ eventId: 8 });
    feed.deliver({ eventId: 6 });
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(5));
    await synced;
    expect(a.updates()).toEqual([6]);
    feed.deliver({ eventId: 7 });
    feed.deliver({ eventId: 9 });
    expect(a.updates()).toEqual([6, 7, 8, 9]);
  });

  it('gap - a failed repair keeps the member held and is retried', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 20 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    feed.deliver({ eventId: 3 });
    await wait(40);
    source.replays[0]!.answer.reject(new SourceUnavailableError('down'));
    await wait(60);
    expect(feed.has('a')).toBe(true);
    expect(source.replays.length).toBeGreaterThanOrEqual(2);
    source.replays[1]!.answer.resolve(events(2, 3));
    await flush();
    feed.deliver({ eventId: 4 });
    expect(a.updates()).toEqual([2, 3, 4]);
  });

  it('gap - a replay answer with a hole sends only what follows without a gap; a second repair takes a snapshot', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 20 });
    const a = member('a');
    const synced = feed.sync(a.id, { after: { eventId: 1 } });
    await flush();
    // The source answers 2, 3, 5 (4 not visible yet): 5 is held.
    source.replays[0]!.answer.resolve(events(2, 3, 5));
    await synced;
    expect(a.updates()).toEqual([2, 3]);
    await wait(40);
    expect(source.replays.map((r) => r.request.after.eventId)).toEqual([1, 3]);
    source.replays[1]!.answer.resolve(events(5));
    await wait(40);
    // Still no 4 from the source: the next repair is a snapshot, which makes the member exact again.
    expect(source.snapshots).toHaveLength(1);
    source.snapshots[0]!.resolve(snapshotAt(6));
    await flush();
    feed.deliver({ eventId: 7 });
    expect(a.received).toEqual([
      { kind: 'update', eventId: 2 },
      { kind: 'update', eventId: 3 },
      { kind: 'initial', lastEventId: 6 },
      { kind: 'update', eventId: 7 },
    ]);
  });

  it('serial - a member whose first request fails while a second waits stays in, and the second brings it live', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const first = feed.sync(a.id, {});
    const second = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.reject(new SourceUnavailableError('down'));
    await expect(first).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(feed.has('a')).toBe(true);
    feed.deliver({ eventId: 4 });
    await flush();
    source.snapshots[1]!.resolve(snapshotAt(3));
    await second;
    feed.deliver({ eventId: 5 });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 3 },
      { kind: 'update', eventId: 4 },
      { kind: 'update', eventId: 5 },
    ]);
  });

  it('serial - a member that leaves after its first request failed is sent nothing by the request that waited', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const first = feed.sync(a.id, {});
    const second = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.reject(new SourceUnavailableError('down'));
    await expect(first).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(feed.remove('a')).toBe(true);
    source.snapshots[1]?.resolve(snapshotAt(0));
    await second;
    feed.deliver({ eventId: 1 });
    expect(a.received).toEqual([]);
    expect(a.rooms.size).toBe(0);
    expect(feed.size).toBe(0);
  });

  it('gap - a repair queued behind another sync starts from where that sync left the member', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 20 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    feed.deliver({ eventId: 3 });
    // The member's client asks for a snapshot; the repair of the hole at 2 waits behind it.
    const resync = feed.sync(a.id, {});
    await wait(20);
    source.snapshots[1]!.resolve(snapshotAt(4));
    await resync;
    await wait(20);
    feed.deliver({ eventId: 5 });
    expect(source.replays).toHaveLength(0);
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'initial', lastEventId: 4 },
      { kind: 'update', eventId: 5 },
    ]);
  });

  it('gap - a repair whose buffer overflows keeps the member; what it lost is repaired in turn', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 20, bufferMaxEvents: 2 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    feed.deliver({ eventId: 3 });
    feed.deliver({ eventId: 3 });
    await wait(20);
    source.replays[0]!.answer.resolve({ kind: 'fallback', reason: 'too-many' });
    await flush();
    // The repair takes a snapshot; meanwhile more events arrive than the buffer holds.
    for (const id of [4, 5, 6, 7]) feed.deliver({ eventId: id });
    source.snapshots[1]!.resolve(snapshotAt(3));
    await flush();
    expect(feed.has('a')).toBe(true);
    expect(a.updates()).toEqual([4]);
    await wait(20);
    expect(source.replays.at(-1)!.request.after).toEqual({ eventId: 4 });
    source.replays.at(-1)!.answer.resolve(events(5, 6, 7));
    await flush();
    feed.deliver({ eventId: 8 });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'initial', lastEventId: 3 },
      ...[4, 5, 6, 7, 8].map((eventId) => ({ kind: 'update', eventId })),
    ]);
  });

  it('end - every member is told once and taken out; later events reach nobody', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const b = member('b');
    const synced = feed.sync(a.id, {});
    const pending = feed.sync(b.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(2));
    await synced;
    await pending;
    const c = member('c');
    const inFlight = feed.sync(c.id, { after: { eventId: 1 } });
    expect(feed.end(3)).toBe(true);
    await inFlight;
    expect(source.replays).toHaveLength(0);
    feed.deliver({ eventId: 2 });
    for (const m of [a, b]) {
      expect(m.received).toEqual([
        { kind: 'initial', lastEventId: 2 },
        { kind: 'ended', eventId: 3 },
      ]);
    }
    expect(c.received).toEqual([{ kind: 'ended', eventId: 3 }]);
    expect(feed.size).toBe(0);
    expect([a, b, c].every((m) => m.rooms.size === 0)).toBe(true);
  });

  it('end - an end older than an id already seen (a new epoch began after it) changes nothing', async () => {
    const { source, feed, member } = setup();
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(5));
    await synced;
    feed.deliver({ eventId: 6 });
    expect(feed.end(4)).toBe(false);
    feed.deliver({ eventId: 7 });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 5 },
      { kind: 'update', eventId: 6 },
      { kind: 'update', eventId: 7 },
    ]);
  });

  it('restart - a new epoch resyncs every member by one snapshot, with no replay and no gap repair', async () => {
    const { source, feed, member } = setup({ gapWaitMs: 20 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(2));
    await synced;
    feed.restart(3);
    feed.deliver({ eventId: 4 });
    await flush();
    source.snapshots[1]!.resolve(snapshotAt(3));
    await wait(100);
    feed.deliver({ eventId: 5 });
    expect(source.replays).toHaveLength(0);
    expect(source.snapshots).toHaveLength(2);
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 2 },
      { kind: 'initial', lastEventId: 3 },
      { kind: 'update', eventId: 4 },
      { kind: 'update', eventId: 5 },
    ]);
  });
});

describe('Feed - what one member may cost', () => {
  it('resnapshot - a live member re-sending a request without a position is refused RATE_LIMITED with retryAfterMs; nothing is queried or sent and its stream goes on', async () => {
    const { source, feed, member, advance } = setup({ resnapshotIntervalMs: 1_000 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    advance(400);
    const again = await feed.sync(a.id, {}).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(RateLimitedError);
    expect(again).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 600 });
    expect(source.snapshots).toHaveLength(1);
    feed.deliver({ eventId: 2 });
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'update', eventId: 2 },
    ]);
    // A resume by replay is not limited.
    const resumed = feed.sync(a.id, { after: { eventId: 1 } });
    await flush();
    source.replays[0]!.answer.resolve(events(2));
    await resumed;
    expect(feed.has('a')).toBe(true);
  });

  it('resnapshot - a socket that leaves and joins again, or resumes from a position the source cannot replay, is limited the same; after the interval it is served', async () => {
    const { source, feed, member, advance } = setup({ resnapshotIntervalMs: 1_000 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    feed.remove(a.id);
    await expect(feed.sync(a.id, {})).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // Refused at once, it was not left in the feed.
    expect(feed.has('a')).toBe(false);
    const fallback = feed.sync(a.id, { after: { eventId: 0 } });
    await flush();
    source.replays[0]!.answer.resolve({ kind: 'fallback', reason: 'too-many' });
    await expect(fallback).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(source.snapshots).toHaveLength(1);
    advance(1_000);
    const later = feed.sync(a.id, {});
    await flush();
    source.snapshots[1]!.resolve(snapshotAt(1));
    await later;
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'initial', lastEventId: 1 },
    ]);
  });

  it('resnapshot - members asking for the first time are not limited, and share one query', async () => {
    const { source, feed, member } = setup({ resnapshotIntervalMs: 1_000 });
    const members = ['a', 'b', 'c'].map(member);
    const synced = members.map((m) => feed.sync(m.id, {}));
    await flush();
    expect(source.snapshots).toHaveLength(1);
    source.snapshots[0]!.resolve(snapshotAt(4));
    await Promise.all(synced);
    for (const m of members) expect(m.received).toEqual([{ kind: 'initial', lastEventId: 4 }]);
  });

  it('gap hold overflow - more events held behind a gap than allowed are dropped and the member is resynced by one snapshot, not a replay', async () => {
    const { source, feed, member, overflows } = setup({ holdMaxEvents: 3, gapWaitMs: 50 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    // 2 is lost: 3, 4, 5 are held; 6 is one too many.
    for (const id of [3, 4, 5, 6]) feed.deliver({ eventId: id });
    expect(overflows).toEqual([{ memberId: 'a', held: 4 }]);
    await wait(0);
    expect(source.snapshots).toHaveLength(2);
    // Arriving while the snapshot is due or in flight, they are covered by it or follow it.
    feed.deliver({ eventId: 7 });
    source.snapshots[1]!.resolve(snapshotAt(7));
    await flush();
    feed.deliver({ eventId: 8 });
    expect(source.replays).toHaveLength(0);
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'initial', lastEventId: 7 },
      { kind: 'update', eventId: 8 },
    ]);
  });

  it('gap hold overflow - a repair that keeps failing while events keep arriving never holds more than the bound; once the source answers, one snapshot makes the member exact', async () => {
    const { source, feed, member, overflows } = setup({ holdMaxEvents: 3, gapWaitMs: 20 });
    const a = member('a');
    const synced = feed.sync(a.id, {});
    await flush();
    source.snapshots[0]!.resolve(snapshotAt(1));
    await synced;
    feed.deliver({ eventId: 3 });
    await wait(20);
    // The repair replay fails while more events arrive behind the gap: the hold overflows once.
    for (const id of [4, 5, 6]) feed.deliver({ eventId: id });
    source.replays[0]!.answer.reject(new SourceUnavailableError('down'));
    await flush();
    expect(overflows).toEqual([{ memberId: 'a', held: 4 }]);
    // From then on nothing is held: a thousand more events, and snapshot after snapshot fails.
    for (let id = 7; id <= 1_006; id++) feed.deliver({ eventId: id });
    for (let attempt = 0; attempt < 3; attempt++) {
      await wait(20);
      source.snapshots.at(-1)!.reject(new SourceUnavailableError('still down'));
      await flush();
    }
    expect(overflows).toHaveLength(1);
    expect(a.received).toEqual([{ kind: 'initial', lastEventId: 1 }]);
    await wait(20);
    source.snapshots.at(-1)!.resolve(snapshotAt(1_006));
    await flush();
    feed.deliver({ eventId: 1_007 });
    expect(feed.has('a')).toBe(true);
    expect(a.received).toEqual([
      { kind: 'initial', lastEventId: 1 },
      { kind: 'initial', lastEventId: 1_006 },
      { kind: 'update', eventId: 1_007 },
    ]);
  });
});

describe('Feed snapshot versions', () => {
  function versionedFeed(snapshotVersion?: (snapshot: Initial) => string) {
    const source = new ManualSource();
    const sent: Initial[] = [];
    const outlet: FeedOutlet<Initial, Update> = {
      join: () => {},
      leave: () => {},
      initial: (_id, message) => sent.push(message),
      update: () => {},
      broadcast: () => {},
      ended: () => {},
    };
    const feed = new Feed<Initial, Update>({
      room: 'websites',
      source,
      outlet,
      replayLimit: 100,
      snapshotReuseMs: 0,
      bufferMaxEvents: 1_000,
      gapWaitMs: 10,
      holdMaxEvents: 100,
      snapshotVersion,
    });
    const syncAnswered = async (member: string, snapshot: Initial) => {
      const done = feed.sync(member, {});
      await flush();
      source.snapshots.at(-1)!.resolve(snapshot);
      await done;
    };
    return { sent, syncAnswered };
  }

  it('version - a fresh snapshot of the version already sent is handed out as that same object', async () => {
    const { sent, syncAnswered } = versionedFeed();
    await syncAnswered('a', { lastEventId: 5, items: ['x'] });
    await syncAnswered('b', { lastEventId: 5, items: ['x'] });
    await syncAnswered('c', { lastEventId: 6, items: ['x', 'y'] });
    expect(sent.map((s) => s.lastEventId)).toEqual([5, 5, 6]);
    expect(sent[1]).toBe(sent[0]);
    expect(sent[2]).not.toBe(sent[1]);
  });

  it('version - snapshots at the same id of different versions (epochs) stay apart', async () => {
    const { sent, syncAnswered } = versionedFeed((s) => `${s.items[0]}:${s.lastEventId}`);
    await syncAnswered('a', { lastEventId: 5, items: ['epoch-1'] });
    await syncAnswered('b', { lastEventId: 5, items: ['epoch-2'] });
    expect(sent[1]).not.toBe(sent[0]);
    expect(sent[1]!.items).toEqual(['epoch-2']);
  });
});

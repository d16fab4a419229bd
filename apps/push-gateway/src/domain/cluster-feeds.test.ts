import { describe, expect, it } from 'vitest';
import { ClusterFeeds } from './cluster-feeds.ts';
import { SourceUnavailableError } from './errors.ts';
import { Feed } from './feed.ts';
import type { FeedOutlet } from './ports.ts';

interface Initial {
  lastEventId: number;
}
interface Update {
  eventId: number;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Cluster feeds whose snapshots the test answers by hand; records what each socket is sent. */
function setup() {
  const received = new Map<string, string[]>();
  const rooms = new Map<string, Set<string>>();
  const snapshots: { resolve(value: Initial): void; reject(error: unknown): void }[] = [];
  const log = (id: string, entry: string) => received.set(id, [...(received.get(id) ?? []), entry]);
  const outlet: FeedOutlet<Initial, Update> = {
    join: (id, room) => rooms.set(id, (rooms.get(id) ?? new Set()).add(room)),
    leave: (id, room) => rooms.get(id)?.delete(room),
    initial: (id, message) => log(id, `initial@${message.lastEventId}`),
    update: (id, message) => log(id, `update#${message.eventId}`),
    broadcast: (room, except, message) => {
      for (const [id, joined] of rooms)
        if (joined.has(room) && !except.includes(id)) log(id, `update#${message.eventId}`);
    },
    ended: (id, eventId) => log(id, `removed#${eventId}`),
  };
  const feeds = new ClusterFeeds<Initial, Update>(
    (cluster) =>
      new Feed({
        room: `nodes:${cluster}`,
        source: {
          snapshot: () => new Promise<Initial>((resolve, reject) => snapshots.push({ resolve, reject })),
          replay: () => Promise.reject(new SourceUnavailableError('no replays here')),
        },
        outlet,
        replayLimit: 10,
        snapshotReuseMs: 0,
        bufferMaxEvents: 10,
        gapWaitMs: 1_000,
        holdMaxEvents: 10,
      }),
  );
  return { feeds, snapshots, received: (id: string) => received.get(id) ?? [], rooms };
}

describe('ClusterFeeds', () => {
  it('removed - every follower gets the removal once and leaves; stale updates of the cluster reach nobody', async () => {
    const { feeds, snapshots, received, rooms } = setup();
    const synced = [feeds.sync('c', 'a', {}), feeds.sync('c', 'b', {}), feeds.sync('d', 'a', {})];
    await flush();
    // One snapshot query per cluster, shared by its followers.
    expect(snapshots).toHaveLength(2);
    snapshots[0]!.resolve({ lastEventId: 4 });
    snapshots[1]!.resolve({ lastEventId: 7 });
    await Promise.all(synced);
    feeds.removed('c', 5);
    feeds.deliver('c', { eventId: 4 });
    feeds.deliver('c', { eventId: 6 });
    feeds.deliver('d', { eventId: 8 });
    expect(received('a')).toEqual(['initial@4', 'initial@7', 'removed#5', 'update#8']);
    expect(received('b')).toEqual(['initial@4', 'removed#5']);
    expect(feeds.followedBy('a')).toEqual(['d']);
    expect(feeds.followedBy('b')).toEqual([]);
    expect(rooms.get('b')?.size).toBe(0);
  });

  it('registered - the followers of a re-registered cluster resync by snapshot', async () => {
    const { feeds, snapshots, received } = setup();
    const synced = feeds.sync('c', 'a', {});
    await flush();
    snapshots[0]!.resolve({ lastEventId: 2 });
    await synced;
    feeds.registered('c', 3);
    await flush();
    snapshots[1]!.resolve({ lastEventId: 3 });
    await flush();
    feeds.deliver('c', { eventId: 4 });
    expect(received('a')).toEqual(['initial@2', 'initial@3', 'update#4']);
  });

  it('orphan - two queued syncs of one member after a failed snapshot leave it in the feed that gets the events', async () => {
    const { feeds, snapshots, received } = setup();
    const first = feeds.sync('c', 'a', {});
    const second = feeds.sync('c', 'a', {});
    await flush();
    snapshots[0]!.reject(new SourceUnavailableError('down'));
    await expect(first).rejects.toBeInstanceOf(SourceUnavailableError);
    await flush();
    snapshots[1]!.resolve({ lastEventId: 0 });
    await second;
    expect(feeds.followedBy('a')).toEqual(['c']);
    feeds.deliver('c', { eventId: 1 });
    expect(received('a')).toEqual(['initial@0', 'update#1']);
  });
});

import type { NodeEvent, NodeView } from '@tideline/contracts';
import { describe, expect, it } from 'vitest';
import { ClusterFeeds } from './cluster-feeds.ts';
import { SourceUnavailableError } from './errors.ts';
import { Feed } from './feed.ts';
import { type NodeUpdateFormat, nodeDeltaOf, nodeRowOf } from './node-delta.ts';
import type { FeedOutlet } from './ports.ts';

const view: NodeView = {
  name: 'n1',
  uid: 'u1',
  static: {
    capacity: {},
    allocatable: {},
    architecture: 'amd64',
    operatingSystem: 'linux',
    osImage: '',
    kernelVersion: '',
    kubeletVersion: '',
    containerRuntimeVersion: '',
  },
  dynamic: { labels: {}, taints: [], unschedulable: true, conditions: [], addresses: [] },
};

function event(eventId: number, type: NodeEvent['type'], patch?: NodeEvent['data']['patch']): NodeEvent {
  return {
    eventId,
    topic: 'nodes',
    type,
    occurredAt: '2026-01-01T00:00:00Z',
    schemaVersion: 1,
    data: {
      cluster: 'c',
      name: 'n1',
      node: view,
      changed: type === 'updated' ? ['unschedulable'] : [],
      ...(patch ? { patch } : {}),
    },
  };
}

describe('node deltas', () => {
  it('messages - updated with a patch is a delta, deleted goes by name, added and patchless updates are rows', () => {
    const patch = { dynamic: { unschedulable: true } };
    expect(nodeDeltaOf(event(2, 'updated', patch))).toEqual({
      cluster: 'c',
      eventId: 2,
      type: 'updated',
      name: 'n1',
      patch,
      changed: ['unschedulable'],
    });
    expect(nodeDeltaOf(event(3, 'deleted'))).toEqual({
      cluster: 'c',
      eventId: 3,
      type: 'deleted',
      name: 'n1',
      changed: [],
    });
    expect(nodeDeltaOf(event(1, 'added'))).toEqual(nodeRowOf(event(1, 'added')));
    expect(nodeDeltaOf(event(4, 'updated'))).toEqual(nodeRowOf(event(4, 'updated')));
    expect(nodeRowOf(event(2, 'updated', patch))).not.toHaveProperty('patch');
  });

  it('formats - each member gets its own format; subscribing in the other format moves it', async () => {
    const received = new Map<string, string[]>();
    const joined = new Map<string, Set<string>>();
    const log = (id: string, entry: string) => received.set(id, [...(received.get(id) ?? []), entry]);
    const describeUpdate = (message: { eventId: number } & Record<string, unknown>) =>
      `${'patch' in message ? 'delta' : 'row'}#${message.eventId}`;
    const outlet: FeedOutlet<{ lastEventId: number }, { eventId: number } & Record<string, unknown>> = {
      join: (id, room) => joined.set(id, (joined.get(id) ?? new Set()).add(room)),
      leave: (id, room) => joined.get(id)?.delete(room),
      initial: (id, message) => log(id, `initial@${message.lastEventId}`),
      update: (id, message) => log(id, describeUpdate(message)),
      broadcast: (room, except, message) => {
        for (const [id, rooms] of joined)
          if (rooms.has(room) && !except.includes(id)) log(id, describeUpdate(message));
      },
      ended: (id, eventId) => log(id, `removed#${eventId}`),
    };
    let head = 0;
    const feeds = new ClusterFeeds(
      (cluster, format: NodeUpdateFormat) =>
        new Feed({
          room: `${cluster}:${format}`,
          source: {
            snapshot: async () => ({ lastEventId: head }),
            replay: () => Promise.reject(new SourceUnavailableError('no replays here')),
          },
          outlet,
          replayLimit: 10,
          snapshotReuseMs: 0,
          bufferMaxEvents: 10,
          gapWaitMs: 1_000,
          holdMaxEvents: 10,
        }),
      (change: NodeEvent, format) => (format === 'delta' ? nodeDeltaOf(change) : nodeRowOf(change)) as never,
    );
    await feeds.sync('c', 'rows', {});
    await feeds.sync('c', 'delta', {}, 'delta');
    feeds.deliver('c', event(1, 'updated', { dynamic: { unschedulable: true } }));
    head = 1;
    await feeds.sync('c', 'rows', {}, 'delta');
    feeds.deliver('c', event(2, 'updated', { dynamic: { unschedulable: false } }));
    expect(received.get('rows')).toEqual(['initial@0', 'row#1', 'initial@1', 'delta#2']);
    expect(received.get('delta')).toEqual(['initial@0', 'delta#1', 'delta#2']);
    expect(feeds.followedBy('rows')).toEqual(['c']);
    expect([...(joined.get('rows') ?? [])]).toEqual(['c:delta']);
    feeds.removed('c', 3);
    expect(received.get('rows')?.at(-1)).toBe('removed#3');
    expect(received.get('delta')?.at(-1)).toBe('removed#3');
    expect(feeds.followedBy('delta')).toEqual([]);
  });
});

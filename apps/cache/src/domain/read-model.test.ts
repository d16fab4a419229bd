import type { ClusterEvent, NodeEvent, NodeView } from '@tideline/contracts';
import { describe, expect, it } from 'vitest';
import type { ClusterNodes } from './cluster-nodes.ts';
import { NodeReadModel, UnknownClusterError } from './read-model.ts';

function view(
  name: string,
  overrides: { ready?: boolean; unschedulable?: boolean; labels?: Record<string, string>; cpu?: string } = {},
): NodeView {
  return {
    name,
    uid: `uid-${name}`,
    static: {
      capacity: { cpu: overrides.cpu ?? '8' },
      allocatable: { cpu: overrides.cpu ?? '8' },
      architecture: 'amd64',
      operatingSystem: 'linux',
      osImage: 'debian',
      kernelVersion: '6.1',
      kubeletVersion: 'v1.30.4',
      containerRuntimeVersion: 'containerd://1.7',
    },
    dynamic: {
      labels: overrides.labels ?? {},
      taints: [],
      unschedulable: overrides.unschedulable ?? false,
      conditions: [{ type: 'Ready', status: overrides.ready === false ? 'False' : 'True' }],
      addresses: [],
    },
  };
}

let clock = 0;
function nodeEvent(
  cluster: string,
  eventId: number,
  type: NodeEvent['type'],
  node: NodeView,
  changed: NodeEvent['data']['changed'] = [],
): NodeEvent {
  return {
    eventId,
    topic: 'nodes',
    type,
    occurredAt: new Date(++clock).toISOString(),
    schemaVersion: 1,
    data: { cluster, name: node.name, node, changed },
  };
}
function clusterEvent(cluster: string, eventId: number, type: ClusterEvent['type']): ClusterEvent {
  return {
    eventId,
    topic: 'nodes',
    type,
    occurredAt: new Date(++clock).toISOString(),
    schemaVersion: 1,
    data: { cluster },
  };
}

function seeded(historySize = 500) {
  const model = new NodeReadModel(historySize);
  model.apply(clusterEvent('a', 1, 'cluster-registered'));
  model.apply(nodeEvent('a', 2, 'added', view('n2')));
  model.apply(nodeEvent('a', 3, 'added', view('n1', { labels: { team: 'x' } })));
  model.apply(nodeEvent('a', 4, 'added', view('n3', { ready: false })));
  return model;
}

describe('NodeReadModel', () => {
  it('idempotent - an event at or below the last id changes nothing', () => {
    const model = seeded();
    expect(model.apply(nodeEvent('a', 3, 'deleted', view('n1')))).toBe('duplicate');
    expect(
      model.apply(nodeEvent('a', 2, 'updated', view('n2', { unschedulable: true }), ['unschedulable'])),
    ).toBe('duplicate');
    expect(model.snapshot('a')).toMatchObject({ total: 3, lastEventId: 4 });
    expect(model.node('a', 'n2').node?.dynamic.unschedulable).toBe(false);
  });

  it('static apart - an update of dynamic fields keeps the static record; a resize replaces it', () => {
    const model = seeded();
    const cluster = (model as unknown as { clusters: Map<string, ClusterNodes> }).clusters.get('a')!;
    const heldStatic = cluster.get('n1')!.static;
    model.apply(
      nodeEvent('a', 5, 'updated', view('n1', { unschedulable: true, labels: { team: 'x' } }), [
        'unschedulable',
      ]),
    );
    expect(cluster.get('n1')!.static).toBe(heldStatic);
    model.apply(
      nodeEvent('a', 6, 'updated', view('n1', { unschedulable: true, labels: { team: 'x' }, cpu: '16' }), [
        'capacity',
        'allocatable',
      ]),
    );
    expect(cluster.get('n1')!.static).not.toBe(heldStatic);
    expect(model.node('a', 'n1').node?.static.capacity['cpu']).toBe('16');
  });

  it('queries - name order, filters, pages and summaries say the lastEventId they reflect', () => {
    const model = seeded();
    model.apply(nodeEvent('a', 5, 'updated', view('n2', { unschedulable: true }), ['unschedulable']));
    expect(model.list('a', {}, 0, 2)).toMatchObject({ total: 3, lastEventId: 5 });
    expect(model.list('a', {}, 0, 2).items.map((n) => n.name)).toEqual(['n1', 'n2']);
    expect(model.list('a', {}, 2, 2).items.map((n) => n.name)).toEqual(['n3']);
    expect(model.list('a', { schedulable: true }, 0, 10).items.map((n) => n.name)).toEqual(['n1', 'n3']);
    expect(model.list('a', { ready: false }, 0, 10).items.map((n) => n.name)).toEqual(['n3']);
    expect(model.list('a', { selector: (l) => l['team'] === 'x' }, 0, 10).items.map((n) => n.name)).toEqual([
      'n1',
    ]);
    expect(model.summary('a')).toEqual({
      cluster: 'a',
      nodes: 3,
      ready: 2,
      notReady: 1,
      unschedulable: 1,
      lastEventId: 5,
    });
    model.apply(nodeEvent('a', 6, 'deleted', view('n2', { unschedulable: true })));
    expect(model.summary('a')).toEqual({
      cluster: 'a',
      nodes: 2,
      ready: 1,
      notReady: 1,
      unschedulable: 0,
      lastEventId: 6,
    });
  });

  it('replay - events after an id, or the fallback: future, too-many, purged, unknown-cluster', () => {
    const model = seeded(3);
    model.apply(nodeEvent('a', 5, 'updated', view('n1', { labels: { team: 'y' } }), ['labels']));
    expect(model.replay('a', 4, 10)).toEqual({
      kind: 'events',
      events: [
        expect.objectContaining({
          eventId: 5,
          type: 'updated',
          data: expect.objectContaining({ changed: ['labels'] }),
        }),
      ],
    });
    expect(model.replay('a', 5, 10)).toEqual({ kind: 'events', events: [] });
    expect(model.replay('a', 6, 10)).toEqual({ kind: 'fallback', reason: 'future' });
    expect(model.replay('a', 2, 2)).toEqual({ kind: 'fallback', reason: 'too-many' });
    expect(
      (model.replay('a', 2, 10) as { events: { eventId: number }[] }).events.map((e) => e.eventId),
    ).toEqual([3, 4, 5]);
    expect(model.replay('a', 1, 10)).toEqual({ kind: 'fallback', reason: 'purged' });
    expect(model.replay('zzz', 0, 10)).toEqual({ kind: 'fallback', reason: 'unknown-cluster' });
  });

  it('epochs - registration starts a new epoch; replays cannot reach across it', () => {
    const model = seeded();
    expect((model.replay('a', 1, 10) as { events: unknown[] }).events).toHaveLength(3);
    expect(model.replay('a', 0, 10)).toEqual({ kind: 'fallback', reason: 'purged' });
  });

  it('removal - drops the cluster; a later registration continues its ids', () => {
    const model = seeded();
    model.apply(nodeEvent('b', 1, 'added', view('m1')));
    expect(model.apply(clusterEvent('a', 5, 'cluster-removed'))).toBe('applied');
    expect(model.clusterNames()).toEqual(['b']);
    expect(() => model.snapshot('a')).toThrow(UnknownClusterError);
    expect(model.replay('a', 4, 10)).toEqual({ kind: 'fallback', reason: 'unknown-cluster' });
    model.apply(clusterEvent('a', 6, 'cluster-registered'));
    model.apply(nodeEvent('a', 7, 'added', view('n9')));
    expect(model.snapshot('a')).toMatchObject({ total: 1, lastEventId: 7 });
    expect(model.replay('a', 4, 10)).toEqual({ kind: 'fallback', reason: 'purged' });
    expect(model.snapshot('b')).toMatchObject({ total: 1, lastEventId: 1 });
  });

  it('gap - an id beyond last+1 is applied; replays stop at it', () => {
    const model = seeded();
    expect(model.apply(nodeEvent('a', 10, 'added', view('n4')))).toBe('gap');
    expect(model.snapshot('a')).toMatchObject({ total: 4, lastEventId: 10 });
    expect(model.replay('a', 4, 10)).toEqual({ kind: 'fallback', reason: 'purged' });
    expect((model.replay('a', 9, 10) as { events: unknown[] }).events).toHaveLength(1);
  });
});

import { testNodeEvents, testNodeView } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import type { ClusterNodes } from './cluster-nodes.ts';
import { NodeReadModel, UnknownClusterError } from './read-model.ts';

const a = testNodeEvents('a');
const b = testNodeEvents('b');
const view = testNodeView;

function seeded(historySize = 500) {
  const model = new NodeReadModel(historySize);
  model.apply(a.registered(1));
  model.apply(a.added(2, view('n2')));
  model.apply(a.added(3, view('n1', { labels: { team: 'x' } })));
  model.apply(a.added(4, view('n3', { ready: false })));
  return model;
}

describe('NodeReadModel', () => {
  it('idempotent - an event at or below the last id changes nothing', () => {
    const model = seeded();
    expect(model.apply(a.deleted(3, view('n1')))).toBe('duplicate');
    expect(model.apply(a.updated(2, view('n2', { unschedulable: true }), ['unschedulable']))).toBe(
      'duplicate',
    );
    expect(model.snapshot('a')).toMatchObject({ total: 3, lastEventId: 4 });
    expect(model.node('a', 'n2').node?.dynamic.unschedulable).toBe(false);
  });

  it('static apart - an update of dynamic fields keeps the static record; a resize replaces it', () => {
    const model = seeded();
    const cluster = (model as unknown as { clusters: Map<string, ClusterNodes> }).clusters.get('a')!;
    const heldStatic = cluster.get('n1')!.static;
    model.apply(a.updated(5, view('n1', { unschedulable: true, labels: { team: 'x' } }), ['unschedulable']));
    expect(cluster.get('n1')!.static).toBe(heldStatic);
    model.apply(
      a.updated(6, view('n1', { unschedulable: true, labels: { team: 'x' }, cpu: '16' }), [
        'capacity',
        'allocatable',
      ]),
    );
    expect(cluster.get('n1')!.static).not.toBe(heldStatic);
    expect(model.node('a', 'n1').node?.static.capacity['cpu']).toBe('16');
  });

  it('queries - name order, filters, pages and summaries say the lastEventId they reflect', () => {
    const model = seeded();
    model.apply(a.updated(5, view('n2', { unschedulable: true }), ['unschedulable']));
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
    model.apply(a.deleted(6, view('n2', { unschedulable: true })));
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
    model.apply(a.updated(5, view('n1', { labels: { team: 'y' } }), ['labels']));
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
    model.apply(b.added(1, view('m1')));
    expect(model.apply(a.removed(5))).toBe('applied');
    expect(model.clusterNames()).toEqual(['b']);
    expect(() => model.snapshot('a')).toThrow(UnknownClusterError);
    expect(model.replay('a', 4, 10)).toEqual({ kind: 'fallback', reason: 'unknown-cluster' });
    model.apply(a.registered(6));
    model.apply(a.added(7, view('n9')));
    expect(model.snapshot('a')).toMatchObject({ total: 1, lastEventId: 7 });
    expect(model.replay('a', 4, 10)).toEqual({ kind: 'fallback', reason: 'purged' });
    expect(model.snapshot('b')).toMatchObject({ total: 1, lastEventId: 1 });
  });

  it('gap - an id beyond last+1 is applied; replays stop at it', () => {
    const model = seeded();
    expect(model.apply(a.added(10, view('n4')))).toBe('gap');
    expect(model.snapshot('a')).toMatchObject({ total: 4, lastEventId: 10 });
    expect(model.replay('a', 4, 10)).toEqual({ kind: 'fallback', reason: 'purged' });
    expect((model.replay('a', 9, 10) as { events: unknown[] }).events).toHaveLength(1);
  });
});

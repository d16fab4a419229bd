import { describe, expect, it } from 'vitest';
import {
  applyNodePatch,
  isNodesDeltaUpdate,
  NodeEvent,
  NodePatch,
  NodesDeltaUpdate,
  NodesInitial,
  NodesUpdateMessage,
  type NodeView,
  nodePatchOf,
  SubscribeNodesPayload,
} from './index.ts';

const view: NodeView = {
  name: 'node-1',
  uid: 'u-1',
  createdAt: '2026-01-01T00:00:00Z',
  static: {
    capacity: { cpu: '4', memory: '16Gi' },
    allocatable: { cpu: '3900m', memory: '15Gi' },
    architecture: 'amd64',
    operatingSystem: 'linux',
    osImage: 'Debian',
    kernelVersion: '6.1',
    kubeletVersion: 'v1.31.0',
    containerRuntimeVersion: 'containerd://2.0',
  },
  dynamic: {
    labels: { 'kubernetes.io/hostname': 'node-1', team: 'a' },
    taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
    unschedulable: false,
    conditions: [{ type: 'Ready', status: 'True' }],
    addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
  },
};

describe('node patch', () => {
  it('patch - a removed label and a removed taint are expressed, and applying gives the new view', () => {
    const after: NodeView = {
      ...view,
      dynamic: { ...view.dynamic, labels: { 'kubernetes.io/hostname': 'node-1', zone: 'z1' }, taints: [] },
    };
    const patch = nodePatchOf(view, after);
    expect(patch).toEqual({ dynamic: { labels: { team: null, zone: 'z1' }, taints: [] } });
    expect(NodePatch.parse(patch)).toEqual(patch);
    expect(applyNodePatch(view, patch)).toEqual(after);
  });

  it('patch - equal views give an empty patch; applying one leaves the view equal', () => {
    expect(nodePatchOf(view, structuredClone(view))).toEqual({});
    expect(applyNodePatch(view, {})).toEqual(view);
  });

  it('patch - static fields, uid and a removed createdAt travel; the input view is not changed', () => {
    const { createdAt: _gone, ...withoutCreatedAt } = view;
    const after: NodeView = {
      ...withoutCreatedAt,
      uid: 'u-2',
      static: { ...view.static, capacity: { cpu: '8' }, kubeletVersion: 'v1.32.0' },
    };
    const before = structuredClone(view);
    const patch = nodePatchOf(view, after);
    expect(patch).toEqual({
      uid: 'u-2',
      createdAt: null,
      static: { capacity: { cpu: '8', memory: null }, kubeletVersion: 'v1.32.0' },
    });
    const applied = applyNodePatch(view, patch);
    expect(applied).toEqual(after);
    expect('createdAt' in applied).toBe(false);
    expect(view).toEqual(before);
  });

  it('patch - a label whose value changes to the empty string is a change, not a removal', () => {
    const after: NodeView = {
      ...view,
      dynamic: { ...view.dynamic, labels: { ...view.dynamic.labels, team: '' } },
    };
    const patch = nodePatchOf(view, after);
    expect(patch).toEqual({ dynamic: { labels: { team: '' } } });
    expect(applyNodePatch(view, patch)).toEqual(after);
  });

  it('schema - a patch is strict: unknown members and a name change are refused', () => {
    expect(NodePatch.safeParse({ name: 'other' }).success).toBe(false);
    expect(NodePatch.safeParse({ dynamic: { labels: { a: 1 } } }).success).toBe(false);
    expect(NodePatch.safeParse({ dynamic: { unschedulable: true } }).success).toBe(true);
  });
});

describe('delta messages', () => {
  const delta = {
    cluster: 'c1',
    eventId: 7,
    type: 'updated' as const,
    name: 'node-1',
    patch: { dynamic: { unschedulable: true } },
    changed: ['unschedulable' as const],
  };

  it('subscribe:nodes - delta is an optional boolean; other keys stay refused', () => {
    expect(SubscribeNodesPayload.parse({ cluster: 'c1', delta: true })).toEqual({
      cluster: 'c1',
      delta: true,
    });
    expect(SubscribeNodesPayload.safeParse({ cluster: 'c1', delta: 'yes' }).success).toBe(false);
    expect(SubscribeNodesPayload.safeParse({ cluster: 'c1', deltas: true }).success).toBe(false);
  });

  it('nodes:initial - the grant is `delta: true` or absent', () => {
    const initial = { cluster: 'c1', items: [view], total: 1, lastEventId: 3 };
    expect(NodesInitial.parse({ ...initial, delta: true }).delta).toBe(true);
    expect(NodesInitial.parse(initial).delta).toBeUndefined();
    expect(NodesInitial.safeParse({ ...initial, delta: false }).success).toBe(false);
  });

  it('nodes:update - a delta is told from a row; an updated delta needs its patch, a deleted one carries no data', () => {
    const row = { cluster: 'c1', eventId: 7, type: 'updated' as const, data: view, changed: [] };
    expect(isNodesDeltaUpdate(NodesUpdateMessage.parse(delta))).toBe(true);
    expect(isNodesDeltaUpdate(NodesUpdateMessage.parse(row))).toBe(false);
    const { patch: _none, ...withoutPatch } = delta;
    expect(NodesDeltaUpdate.safeParse(withoutPatch).success).toBe(false);
    expect(NodesDeltaUpdate.safeParse({ ...delta, type: 'added' }).success).toBe(false);
    expect(
      NodesDeltaUpdate.parse({ cluster: 'c1', eventId: 8, type: 'deleted', name: 'node-1', changed: [] }),
    ).toMatchObject({ type: 'deleted', name: 'node-1' });
    expect(
      NodesDeltaUpdate.safeParse({
        cluster: 'c1',
        eventId: 8,
        type: 'deleted',
        name: 'node-1',
        changed: [],
        data: view,
      }).success,
    ).toBe(false);
  });

  it('bus - a node event may carry the patch from the previous view; older events without one stay valid', () => {
    const event = {
      eventId: 7,
      topic: 'nodes',
      type: 'updated',
      occurredAt: '2026-01-01T00:00:00Z',
      schemaVersion: 1,
      data: {
        cluster: 'c1',
        name: 'node-1',
        node: view,
        changed: ['labels'],
        patch: { dynamic: { labels: { a: null } } },
      },
    };
    expect(NodeEvent.parse(event).data.patch).toEqual({ dynamic: { labels: { a: null } } });
    const { patch: _p, ...older } = event.data;
    expect(NodeEvent.parse({ ...event, data: older }).data.patch).toBeUndefined();
    expect(NodeEvent.safeParse({ ...event, data: { ...event.data, patch: { bogus: 1 } } }).success).toBe(
      false,
    );
  });
});

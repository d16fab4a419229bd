import { NodeField, NodeView } from '@tideline/contracts';
import { applyCondition, applyHeartbeat, makeNode } from '@tideline/kube-test-server';
import { describe, expect, it } from 'vitest';
import { ALL_NODE_FIELDS, changedFields, type ObservedNode, toNodeView } from './node-view.ts';

const observed = (node: unknown) => structuredClone(node) as ObservedNode;

describe('node view', () => {
  it('view - matches the contract and splits static from dynamic attributes', () => {
    const node = makeNode({
      name: 'n1',
      labels: { team: 'a' },
      taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
    });
    const view = toNodeView(observed(node));
    expect(NodeView.parse(view)).toEqual(view);
    expect(view.static).toMatchObject({
      architecture: 'amd64',
      operatingSystem: 'linux',
      kubeletVersion: 'v1.30.4',
    });
    expect(view.static.capacity['cpu']).toBe('8');
    expect(view.dynamic.labels['team']).toBe('a');
    expect(view.dynamic.taints).toEqual([{ key: 'k', value: 'v', effect: 'NoSchedule' }]);
    expect(view.dynamic.conditions.map((c) => c.type)).toEqual([
      'DiskPressure',
      'MemoryPressure',
      'PIDPressure',
      'Ready',
    ]);
  });

  it('heartbeat - lastHeartbeatTime, resourceVersion and managedFields churn leave the view equal', () => {
    const node = makeNode({ name: 'n1' });
    const before = toNodeView(observed(node));
    applyHeartbeat(node, new Date(Date.now() + 60_000));
    node.metadata.resourceVersion = '999';
    node.metadata.managedFields.push({
      manager: 'kubectl',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2030-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {},
    });
    node.metadata.annotations['node.alpha.kubernetes.io/ttl'] = '15';
    node.status.images.push({ names: ['new:image'], sizeBytes: 1 });
    expect(changedFields(before, toNodeView(observed(node)))).toEqual([]);
  });

  it('list and watch - a Date timestamp (list) and its string (watch) give the same view', () => {
    const node = makeNode({ name: 'n1' });
    const fromWatch = toNodeView(observed(node));
    const fromList = observed(node);
    fromList.metadata!.creationTimestamp = new Date(node.metadata.creationTimestamp);
    expect(toNodeView(fromList)).toEqual(fromWatch);
  });

  it('changes - each meaningful change names its field', () => {
    const base = makeNode({ name: 'n1' });
    const before = toNodeView(observed(base));
    const cases: [string, (n: typeof base) => void, string[]][] = [
      [
        'cordon',
        (n) => {
          n.spec.unschedulable = true;
        },
        ['unschedulable'],
      ],
      [
        'label',
        (n) => {
          n.metadata.labels['x'] = 'y';
        },
        ['labels'],
      ],
      [
        'taint',
        (n) => {
          n.spec.taints = [{ key: 'k', effect: 'NoExecute' }];
        },
        ['taints'],
      ],
      ['NotReady', (n) => applyCondition(n, 'Ready', 'False'), ['conditions']],
      [
        'address',
        (n) => {
          n.status.addresses[0]!.address = '192.168.0.1';
        },
        ['addresses'],
      ],
      [
        'resize',
        (n) => {
          n.status.capacity['cpu'] = '16';
          n.status.allocatable['cpu'] = '15';
        },
        ['capacity', 'allocatable'],
      ],
      [
        'upgrade',
        (n) => {
          n.status.nodeInfo.kubeletVersion = 'v1.31.0';
        },
        ['nodeInfo'],
      ],
    ];
    for (const [what, change, expected] of cases) {
      const node = structuredClone(base);
      change(node);
      expect(changedFields(before, toNodeView(observed(node))), what).toEqual(expected);
    }
  });

  it('order - taints, conditions and addresses reordered are no change', () => {
    const node = makeNode({
      name: 'n1',
      taints: [
        { key: 'a', effect: 'NoSchedule' },
        { key: 'b', effect: 'NoSchedule' },
      ],
    });
    const before = toNodeView(observed(node));
    node.spec.taints!.reverse();
    node.status.conditions.reverse();
    expect(node.status.addresses!.length).toBeGreaterThan(1);
    node.status.addresses!.reverse();
    expect(changedFields(before, toNodeView(observed(node)))).toEqual([]);
  });

  it('fields - every field of the contract can be named', () => {
    expect([...ALL_NODE_FIELDS].sort()).toEqual([...NodeField.options].sort());
  });
});

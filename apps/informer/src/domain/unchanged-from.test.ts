import { applyNodePatch, nodePatchOf } from '@tideline/contracts';
import { applyHeartbeat, makeNode } from '@tideline/kube-test-server';
import { describe, expect, it } from 'vitest';
import { changedFields, type ObservedNode, toNodeView, unchangedFrom } from './node-view.ts';

/** A small deterministic generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

type Mutation = (node: ObservedNode, pick: <T>(values: readonly T[]) => T) => void;

/** Changes of every kind the view cares about (and some it ignores), including removals and reorders. */
const MUTATIONS: Mutation[] = [
  (n, pick) => {
    n.metadata!.labels = { ...n.metadata!.labels, [pick(['team', 'zone', 'tier'])]: pick(['a', 'b', '']) };
  },
  (n, pick) => {
    const labels = { ...n.metadata!.labels };
    delete labels[pick(Object.keys(labels))];
    n.metadata!.labels = labels;
  },
  (n, pick) => {
    n.spec = { ...n.spec, unschedulable: pick([true, false, undefined]) };
  },
  (n, pick) => {
    const taints = [...(n.spec?.taints ?? [])];
    taints.push({ key: pick(['gpu', 'dedicated']), value: pick(['x', '', undefined]), effect: 'NoSchedule' });
    n.spec = { ...n.spec, taints: taints.filter((t, i, all) => all.findIndex((o) => o.key === t.key) === i) };
  },
  (n) => {
    n.spec = { ...n.spec, taints: [...(n.spec?.taints ?? [])].reverse().slice(1) };
  },
  (n, pick) => {
    const conditions = (n.status!.conditions ?? []).map((c) => ({ ...c }));
    const c = pick(conditions);
    c.status = pick(['True', 'False', 'Unknown', 'weird']);
    c.reason = pick(['KubeletReady', '', undefined]) as string;
    n.status = { ...n.status, conditions };
  },
  (n) => {
    n.status = { ...n.status, conditions: [...(n.status!.conditions ?? [])].reverse() };
  },
  (n, pick) => {
    n.status = { ...n.status, capacity: { ...n.status!.capacity, cpu: pick(['8', '16']) } };
  },
  (n) => {
    const { pods: _pods, ...rest } = n.status!.allocatable ?? {};
    n.status = { ...n.status, allocatable: rest };
  },
  (n, pick) => {
    n.status = {
      ...n.status,
      nodeInfo: { ...n.status!.nodeInfo, kubeletVersion: pick(['v1.30.4', 'v1.31.0']) },
    };
  },
  (n, pick) => {
    n.status = {
      ...n.status,
      addresses: [
        ...(n.status!.addresses ?? []),
        { type: 'ExternalIP', address: pick(['1.2.3.4', '5.6.7.8']) },
      ],
    };
  },
  (n, pick) => {
    n.metadata = { ...n.metadata, uid: pick(['', 'other-uid', n.metadata!.uid!]) };
  },
  (n) => applyHeartbeat(n as never, new Date(Date.now() + 60_000)),
];

describe('unchangedFrom', () => {
  it('property - agrees with comparing built views over random changes, and the patch of each change rebuilds the view', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed);
      const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
      const node = structuredClone(makeNode({ name: `n${seed}`, labels: { team: 'a' } })) as ObservedNode;
      const view = toNodeView(node);
      const changed = structuredClone(node);
      const steps = 1 + Math.floor(next() * 3);
      for (let i = 0; i < steps; i++) pick(MUTATIONS)(changed, pick);
      const after = toNodeView(changed);
      const uidReplaced = Boolean(view.uid && after.uid && view.uid !== after.uid);
      const expected = !uidReplaced && changedFields(view, after).length === 0;
      expect(unchangedFrom(view, changed), `seed ${seed}`).toBe(expected);
      expect(applyNodePatch(view, nodePatchOf(view, after)), `seed ${seed}`).toEqual(after);
    }
  });

  it('heartbeat - a heartbeat-only update is unchanged; a cordon is not', () => {
    const node = makeNode({ name: 'n1' });
    const view = toNodeView(structuredClone(node) as ObservedNode);
    applyHeartbeat(node, new Date(Date.now() + 60_000));
    expect(unchangedFrom(view, node as ObservedNode)).toBe(true);
    expect(
      unchangedFrom(view, { ...node, spec: { ...node.spec, unschedulable: true } } as ObservedNode),
    ).toBe(false);
  });
});

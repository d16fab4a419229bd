import {
  type NodesDeltaUpdate,
  type NodesUpdate,
  type NodesUpdateMessage,
  type NodeView,
  nodePatchOf,
} from '@tideline/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type TidelineClient } from './client.ts';
import { FakeSocket } from './testing/fake-socket.ts';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const clients: TidelineClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function connected(nodeDeltas: boolean) {
  const socket = new FakeSocket();
  const client = connect({ url: 'http://gateway.test', token: 't', io: (() => socket) as never, nodeDeltas });
  clients.push(client);
  socket.connected = true;
  socket.fire('connect');
  return { socket, client };
}

/** A small deterministic generator, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function nodeView(name: string, n: number): NodeView {
  return {
    name,
    uid: `uid-${name}-${n}`,
    createdAt: '2026-01-01T00:00:00Z',
    static: {
      capacity: { cpu: '8', memory: '32Gi', pods: '110' },
      allocatable: { cpu: '7900m', memory: '31Gi', pods: '110' },
      architecture: 'amd64',
      operatingSystem: 'linux',
      osImage: 'Debian',
      kernelVersion: '6.1',
      kubeletVersion: 'v1.30.4',
      containerRuntimeVersion: 'containerd://1.7',
    },
    dynamic: {
      labels: { 'kubernetes.io/hostname': name, team: 'a' },
      taints: [],
      unschedulable: false,
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      ],
      addresses: [{ type: 'InternalIP', address: `10.0.0.${n % 250}` }],
    },
  };
}

type Pick = <T>(values: readonly T[]) => T;

/** Changes an operator or a kubelet makes, removals included; each returns a new view. */
const CHANGES: ((v: NodeView, pick: Pick) => NodeView)[] = [
  (v, pick) => ({
    ...v,
    dynamic: {
      ...v.dynamic,
      labels: { ...v.dynamic.labels, [pick(['team', 'zone', 'x'])]: pick(['a', 'b', '']) },
    },
  }),
  (v, pick) => {
    const labels = { ...v.dynamic.labels };
    delete labels[pick(Object.keys(labels))];
    return { ...v, dynamic: { ...v.dynamic, labels } };
  },
  (v) => ({ ...v, dynamic: { ...v.dynamic, unschedulable: !v.dynamic.unschedulable } }),
  (v, pick) => ({
    ...v,
    dynamic: {
      ...v.dynamic,
      taints:
        v.dynamic.taints.length > 0 && pick([true, false])
          ? v.dynamic.taints.slice(1)
          : [
              ...v.dynamic.taints,
              { key: `k${v.dynamic.taints.length}`, value: pick(['v', undefined]), effect: 'NoSchedule' },
            ].map((t) => (t.value === undefined ? { key: t.key, effect: t.effect } : t)),
    },
  }),
  (v, pick) => ({
    ...v,
    dynamic: {
      ...v.dynamic,
      conditions: v.dynamic.conditions.map((c) =>
        c.type === 'Ready' ? { type: 'Ready', status: pick(['True', 'False', 'Unknown'] as const) } : c,
      ),
    },
  }),
  (v, pick) => {
    const capacity = { ...v.static.capacity };
    if (pick([true, false])) delete capacity['pods'];
    else capacity['nvidia.com/gpu'] = pick(['1', '2']);
    return { ...v, static: { ...v.static, capacity, kubeletVersion: pick(['v1.30.4', 'v1.31.0']) } };
  },
  (v) => {
    const { createdAt: _gone, ...rest } = v;
    return rest;
  },
  (v, pick) => ({
    ...v,
    dynamic: {
      ...v.dynamic,
      addresses: pick([[], v.dynamic.addresses, [{ type: 'Hostname', address: v.name }]]),
    },
  }),
];

/** One random history of a cluster: the messages a full-row and a delta subscription are sent. */
function history(seed: number, steps: number) {
  const next = random(seed);
  const pick: Pick = (values) => values[Math.floor(next() * values.length)]!;
  const nodes = new Map<string, NodeView>();
  const initial: NodeView[] = [];
  for (let i = 0; i < 5; i++) {
    const view = nodeView(`node-${i}`, i);
    nodes.set(view.name, view);
    initial.push(view);
  }
  const rows: NodesUpdate[] = [];
  const deltas: NodesUpdateMessage[] = [];
  let created = 5;
  for (let eventId = 11; eventId < 11 + steps; eventId++) {
    const roll = next();
    const names = [...nodes.keys()];
    if (roll < 0.1 || names.length === 0) {
      const view = nodeView(`node-${created}`, created++);
      nodes.set(view.name, view);
      const row: NodesUpdate = { cluster: 'c', eventId, type: 'added', data: view, changed: [] };
      rows.push(row);
      deltas.push(row);
    } else if (roll < 0.18) {
      const name = pick(names);
      const last = nodes.get(name)!;
      nodes.delete(name);
      rows.push({ cluster: 'c', eventId, type: 'deleted', data: last, changed: [] });
      deltas.push({ cluster: 'c', eventId, type: 'deleted', name, changed: [] } satisfies NodesDeltaUpdate);
    } else {
      const name = pick(names);
      const before = nodes.get(name)!;
      let after = before;
      for (let i = 0; i < 1 + Math.floor(next() * 3); i++) after = pick(CHANGES)(after, pick);
      nodes.set(name, after);
      rows.push({ cluster: 'c', eventId, type: 'updated', data: after, changed: ['labels'] });
      // Some updates arrive as full rows on the delta subscription too (events without a patch).
      deltas.push(
        next() < 0.1
          ? { cluster: 'c', eventId, type: 'updated', data: after, changed: ['labels'] }
          : {
              cluster: 'c',
              eventId,
              type: 'updated',
              name,
              patch: nodePatchOf(before, after),
              changed: ['labels'],
            },
      );
    }
  }
  return { initial, rows, deltas, final: nodes };
}

const byName = (items: readonly NodeView[]) => [...items].sort((a, b) => a.name.localeCompare(b.name));

describe('node deltas in the SDK', () => {
  it('replica - full-row and delta subscriptions end identical over random histories with removals', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const { initial, rows, deltas, final } = history(seed, 120);
      const full = await connected(false);
      const delta = await connected(true);
      const fullNodes = full.client.nodes('c');
      const deltaNodes = delta.client.nodes('c');
      await flush();
      full.socket.fire('nodes:initial', {
        cluster: 'c',
        items: structuredClone(initial),
        total: initial.length,
        lastEventId: 10,
      });
      delta.socket.fire('nodes:initial', {
        cluster: 'c',
        items: structuredClone(initial),
        total: initial.length,
        lastEventId: 10,
        delta: true,
      });
      for (const message of rows) full.socket.fire('nodes:update', structuredClone(message));
      for (const message of deltas) delta.socket.fire('nodes:update', structuredClone(message));
      expect(byName(deltaNodes.items()), `seed ${seed}`).toEqual(byName(fullNodes.items()));
      expect(byName(fullNodes.items()), `seed ${seed}`).toEqual(byName([...final.values()]));
      expect(deltaNodes.position).toEqual(fullNodes.position);
    }
  });

  it('replica - a delta is applied only in id order: a duplicate changes nothing, a gap asks to resume', async () => {
    const { socket, client } = await connected(true);
    const nodes = client.nodes('c');
    await flush();
    const view = nodeView('n1', 1);
    socket.fire('nodes:initial', { cluster: 'c', items: [view], total: 1, lastEventId: 10, delta: true });
    const cordon = { dynamic: { unschedulable: true } };
    socket.fire('nodes:update', {
      cluster: 'c',
      eventId: 11,
      type: 'updated',
      name: 'n1',
      patch: cordon,
      changed: ['unschedulable'],
    });
    socket.fire('nodes:update', {
      cluster: 'c',
      eventId: 11,
      type: 'updated',
      name: 'n1',
      patch: { dynamic: { unschedulable: false } },
      changed: [],
    });
    expect(nodes.get('n1')?.dynamic.unschedulable).toBe(true);
    socket.fire('nodes:update', { cluster: 'c', eventId: 13, type: 'deleted', name: 'n1', changed: [] });
    expect(nodes.get('n1')).toBeDefined();
    await flush();
    expect(socket.payloadsOf('subscribe:nodes').at(-1)).toEqual({
      cluster: 'c',
      lastEventId: 11,
      delta: true,
    });
  });

  it('replica - a delta for a node the replica lacks asks for a fresh snapshot', async () => {
    const { socket, client } = await connected(true);
    const nodes = client.nodes('c');
    await flush();
    socket.fire('nodes:initial', { cluster: 'c', items: [], total: 0, lastEventId: 10, delta: true });
    await flush();
    socket.fire('nodes:update', {
      cluster: 'c',
      eventId: 11,
      type: 'updated',
      name: 'ghost',
      patch: {},
      changed: [],
    });
    await flush();
    expect(nodes.position?.eventId).toBe(10);
    expect(socket.payloadsOf('subscribe:nodes').at(-1)).toEqual({ cluster: 'c', delta: true });
  });

  it('negotiation - asks for deltas only when told to; a gateway refusing the field gets rows on that connection', async () => {
    const rows = await connected(false);
    rows.client.nodes('c');
    await flush();
    expect(rows.socket.payloadsOf('subscribe:nodes')).toEqual([{ cluster: 'c' }]);

    const old = await connected(true);
    old.socket.answer = (_event, payload) =>
      (payload as { delta?: boolean }).delta
        ? { ok: false, event: 'subscribe:nodes', code: 'BAD_REQUEST', message: 'Unrecognized key: "delta"' }
        : { ok: true };
    const errors: string[] = [];
    old.client.onError((error) => errors.push(error.code));
    const nodes = old.client.nodes('c');
    await flush();
    expect(old.socket.payloadsOf('subscribe:nodes')).toEqual([
      { cluster: 'c', delta: true },
      { cluster: 'c' },
    ]);
    expect(nodes.failure).toBeUndefined();
    expect(errors).toEqual([]);
  });
});

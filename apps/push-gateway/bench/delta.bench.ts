/**
 * `npm run bench:delta -w @tideline/push-gateway`: bytes and encode time per `nodes:update`, delta
 * vs full row (issue 17, item 3). Each round builds a random history of realistic node changes
 * (labels set and removed, cordon/uncordon, taints added and removed, readiness flips, capacity
 * changes) over a fleet of nodes, publishes it the way the informer does (the full view plus the
 * merge patch from the node's previous view), and turns each event into the socket message of
 * both formats as the gateway does (node-delta.ts), encoded as Socket.IO encodes an event packet
 * (`42` + JSON of `[event, message]`). The full row, measured in the same round, is the baseline.
 * The bus event's own growth (it carries the patch beside the view) is reported too.
 * Pure CPU, in process; bounded by fixed counts.
 */
import { BenchRun } from '@tideline/bench';
import { type NodeEvent, type NodeView, nodePatchOf } from '@tideline/contracts';
import { nodeDeltaOf, nodeRowOf } from '../src/domain/node-delta.ts';

const NODES = 500;
const UPDATES_PER_ROUND = 20_000;
/** Encodes of the whole history per timing sample (more work per sample, less timer noise). */
const ENCODE_PASSES = 3;

const run = new BenchRun({
  bench: 'gateway-node-deltas',
  description: `nodes:update bytes and encode time, delta vs full row: ${UPDATES_PER_ROUND} random node changes over ${NODES} nodes per round`,
});
run.define(
  {
    id: 'delta.bytes',
    label: 'bytes per nodes:update, delta',
    unit: 'B',
    better: 'lower',
    baseline: 'full-row nodes:update',
    goal: 0.25,
    goalNote: 'issue 17: a delta carries only what changed (≤ a quarter of the row)',
  },
  {
    id: 'delta.encode',
    label: 'build + encode per nodes:update, delta',
    unit: 'µs',
    better: 'lower',
    baseline: 'build + encode of the full row',
    goal: 1,
    goalNote: 'a delta costs the gateway no more CPU than the row',
  },
  {
    id: 'bus.bytes',
    label: 'bus node event with its patch',
    unit: 'B',
    better: 'lower',
    baseline: 'the same event without the patch',
    goal: 1.25,
    goalNote: 'what carrying the patch on the bus costs instead of node state in every gateway',
  },
);

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A node as the informer's view describes one of a real fleet (≈ 1.3 KB of JSON). */
function fleetNode(i: number): NodeView {
  const name = `ip-10-0-${i >> 8}-${i & 255}.eu-west-1.compute.internal`;
  return {
    name,
    uid: `6f1c0b7e-${String(i).padStart(4, '0')}-4d2a-9c1e-2b7f5a9d3e10`,
    createdAt: '2026-01-01T00:00:00Z',
    static: {
      capacity: {
        cpu: '8',
        'ephemeral-storage': '101430960Ki',
        'hugepages-2Mi': '0',
        memory: '32863764Ki',
        pods: '110',
      },
      allocatable: {
        cpu: '7910m',
        'ephemeral-storage': '93478772582',
        'hugepages-2Mi': '0',
        memory: '31813140Ki',
        pods: '110',
      },
      architecture: 'amd64',
      operatingSystem: 'linux',
      osImage: 'Amazon Linux 2023.6.20241212',
      kernelVersion: '6.1.119-129.201.amzn2023.x86_64',
      kubeletVersion: 'v1.31.3-eks-59bf375',
      containerRuntimeVersion: 'containerd://1.7.23',
    },
    dynamic: {
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/instance-type': 'm5.2xlarge',
        'beta.kubernetes.io/os': 'linux',
        'eks.amazonaws.com/capacityType': 'ON_DEMAND',
        'eks.amazonaws.com/nodegroup': `ng-${i % 4}`,
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'm5.2xlarge',
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': `eu-west-1${'abc'[i % 3]}`,
      },
      taints: [],
      unschedulable: false,
      conditions: [
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
        { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      ],
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalDNS', address: name },
        { type: 'InternalIP', address: `10.0.${i >> 8}.${i & 255}` },
      ],
    },
  };
}

type Pick = <T>(values: readonly T[]) => T;
const CHANGES: [weight: number, change: (v: NodeView, pick: Pick) => NodeView][] = [
  [
    0.3,
    (v, pick) => {
      const labels = { ...v.dynamic.labels };
      const key = pick(['team', 'tideline.dev/pool', 'workload-class']);
      if (labels[key] !== undefined && pick([true, false])) delete labels[key];
      else labels[key] = pick(['payments', 'search', 'batch']);
      return { ...v, dynamic: { ...v.dynamic, labels } };
    },
  ],
  [0.2, (v) => ({ ...v, dynamic: { ...v.dynamic, unschedulable: !v.dynamic.unschedulable } })],
  [
    0.15,
    (v) => ({
      ...v,
      dynamic: {
        ...v.dynamic,
        taints:
          v.dynamic.taints.length > 0
            ? []
            : [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
      },
    }),
  ],
  [
    0.25,
    (v) => ({
      ...v,
      dynamic: {
        ...v.dynamic,
        conditions: v.dynamic.conditions.map((c) =>
          c.type !== 'Ready'
            ? c
            : c.status === 'True'
              ? { type: 'Ready', status: 'False' as const, reason: 'KubeletNotReady' }
              : { type: 'Ready', status: 'True' as const, reason: 'KubeletReady' },
        ),
      },
    }),
  ],
  [
    0.1,
    (v, pick) => ({
      ...v,
      static: { ...v.static, allocatable: { ...v.static.allocatable, pods: pick(['110', '58', '29']) } },
    }),
  ],
];

/** One round's history as the informer publishes it. */
function history(seed: number): NodeEvent[] {
  const next = random(seed);
  const pick: Pick = (values) => values[Math.floor(next() * values.length)]!;
  const nodes = Array.from({ length: NODES }, (_, i) => fleetNode(i));
  const events: NodeEvent[] = [];
  for (let eventId = 1; eventId <= UPDATES_PER_ROUND; eventId++) {
    const index = Math.floor(next() * NODES);
    const before = nodes[index]!;
    const roll = next();
    let cumulative = 0;
    const change =
      CHANGES.find(([weight]) => {
        cumulative += weight;
        return roll < cumulative;
      })?.[1] ?? CHANGES[0]![1];
    const after = change(before, pick);
    nodes[index] = after;
    events.push({
      eventId,
      topic: 'nodes',
      type: 'updated',
      occurredAt: '2026-01-01T00:00:00.000Z',
      schemaVersion: 1,
      data: {
        cluster: 'eu-west-1-prod',
        name: after.name,
        node: after,
        changed: ['labels'],
        patch: nodePatchOf(before, after),
      },
    });
  }
  return events;
}

/** What Socket.IO writes for an event packet without binary: `4` (message) `2` (event) + JSON. */
const packet = (message: unknown) => `42${JSON.stringify(['nodes:update', message])}`;

function encodeAll(
  events: readonly NodeEvent[],
  build: (event: NodeEvent) => unknown,
): { bytes: number; us: number } {
  let bytes = 0;
  for (const event of events) bytes += Buffer.byteLength(packet(build(event)));
  const started = performance.now();
  let sink = 0;
  for (let pass = 0; pass < ENCODE_PASSES; pass++)
    for (const event of events) sink += packet(build(event)).length;
  const us = ((performance.now() - started) * 1000) / (events.length * ENCODE_PASSES);
  if (sink === 0) throw new Error('nothing encoded');
  return { bytes: bytes / events.length, us };
}

for (const round of run.rounds()) {
  const events = history(round);
  // Warm both paths in the same way before timing either.
  encodeAll(events.slice(0, 2_000), nodeRowOf);
  encodeAll(events.slice(0, 2_000), nodeDeltaOf);
  const full = encodeAll(events, nodeRowOf);
  const delta = encodeAll(events, nodeDeltaOf);
  run.record('delta.bytes', delta.bytes, full.bytes);
  run.record('delta.encode', delta.us, full.us);
  let withPatch = 0;
  let withoutPatch = 0;
  for (const event of events) {
    withPatch += Buffer.byteLength(JSON.stringify(event));
    const { patch: _patch, ...data } = event.data;
    withoutPatch += Buffer.byteLength(JSON.stringify({ ...event, data }));
  }
  run.record('bus.bytes', withPatch / events.length, withoutPatch / events.length);
}
run.note(
  'encoding as socket.io-parser does for an event packet without binary: "42" + JSON.stringify([event, message])',
);
await run.finish();

/**
 * The cache over HTTP alone, for `--cpu-prof`: `startCache` on an in-memory bus holding
 * 10 clusters × 5,000 nodes of the benchmark's shape, then the benchmark's HTTP query mix.
 * `node --import tsx bench/http-profile.ts [profile.cpuprofile]` writes the CPU profile of the
 * query phase (client and server share the process: undici's share is the client's).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { contractTopics, MemoryEventBus } from '@tideline/bus';
import { NODES_API, NODES_TOPIC, NodeField, SCHEMA_VERSION } from '@tideline/contracts';
import { toNodeView } from '@tideline/informer';
import { makeNode } from '@tideline/kube-test-server';
import { testToken } from '@tideline/test-support';
import { startCache } from '../src/index.ts';

const CLUSTERS = 10;
const NODES = 5_000;
const QUERIES = 3_000;

const bus = new MemoryEventBus({
  prefix: 'profile',
  topics: contractTopics(),
  maxDeliveries: 5,
  backoff: { initialMs: 20, maxMs: 40 },
  ackWaitMs: 30_000,
  retentionMs: 3_600_000,
  duplicateWindowMs: 60_000,
});
await bus.start();
const now = new Date();
const clusters: string[] = [];
for (let c = 0; c < CLUSTERS; c++) {
  const cluster = `bench-${String(c).padStart(2, '0')}`;
  clusters.push(cluster);
  let id = 0;
  const publish = (type: string, data: object) =>
    bus.publish(
      `node.${cluster}.${type}`,
      {
        eventId: ++id,
        topic: NODES_TOPIC,
        type,
        occurredAt: now.toISOString(),
        schemaVersion: SCHEMA_VERSION,
        data,
      },
      { msgId: `${cluster}:${id}`, key: cluster },
    );
  await publish('cluster-registered', { cluster });
  for (let i = 0; i < NODES; i++) {
    const name = `node-${String(i).padStart(5, '0')}`;
    await publish('added', {
      cluster,
      name,
      node: toNodeView(makeNode({ name }, now)),
      changed: [...NodeField.options],
    });
  }
}
const cache = await startCache({
  bus,
  source: {
    env: {
      TIDELINE_ENV: 'test',
      TIDELINE_LOG_LEVEL: 'silent',
      TIDELINE_CACHE_PORT: '0',
      TIDELINE_CACHE_HOST: '127.0.0.1',
      TIDELINE_STATEFUL_NAMESPACE: 'profile',
    },
  },
});
const headers = { authorization: `Bearer ${testToken('bench', ['nodes:read'])}` };
const paths: ((i: number) => string)[] = [
  (i) => `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100`,
  (i) =>
    `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100&labelSelector=topology.kubernetes.io%2Fzone%3Dzone-1`,
  (i) => `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100&ready=false`,
  (i) =>
    `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100&schedulable=true&labelSelector=bench%2Fflip`,
  (i) => NODES_API.node(clusters[i % CLUSTERS]!, `node-${String((i * 7919) % NODES).padStart(5, '0')}`),
  () => NODES_API.clusters,
];
const samples: number[][] = paths.map(() => []);
const out = process.argv[2];
const session = new Session();
if (out) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
for (let i = 0; i < QUERIES; i++) {
  const t = performance.now();
  const response = await fetch(`${cache.url}${paths[i % paths.length]!(i)}`, { headers });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`answered ${response.status}`);
  samples[i % paths.length]!.push(performance.now() - t);
}
if (out) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
}
const q = (s: number[], p: number) =>
  [...s].sort((a, b) => a - b)[Math.floor(p * (s.length - 1))]!.toFixed(2);
for (const [k, s] of samples.entries()) console.log(`kind ${k}: p50 ${q(s, 0.5)} ms p99 ${q(s, 0.99)} ms`);
const all = samples.flat();
console.log(`all: p50 ${q(all, 0.5)} ms p99 ${q(all, 0.99)} ms`);
await cache.stop('done');
await bus.drain();

/**
 * Heap and query profile of the read model alone (no bus, no HTTP): 10 clusters × 5,000 nodes of
 * the benchmark's shape (kube-test-server nodes through the informer's view), each event encoded
 * and decoded as on the bus. `node --expose-gc --import tsx bench/model-profile.ts [--snapshot]`.
 */
import { writeHeapSnapshot } from 'node:v8';
import { decodeNodesTopicEvent, NODES_TOPIC, NodeField, SCHEMA_VERSION } from '@tideline/contracts';
import { toNodeView } from '@tideline/informer';
import { makeNode } from '@tideline/kube-test-server';
import { parseLabelSelector } from '../src/domain/label-selector.ts';
import { NodeReadModel } from '../src/domain/read-model.ts';

const CLUSTERS = 10;
const NODES = 5_000;
const gc = (globalThis as { gc?: () => void }).gc!;

function encoded(cluster: string, eventId: number, type: string, data: object): string {
  return JSON.stringify({
    eventId,
    topic: NODES_TOPIC,
    type,
    occurredAt: new Date().toISOString(),
    schemaVersion: SCHEMA_VERSION,
    data,
  });
}

gc();
const before = process.memoryUsage().heapUsed;
const model = new NodeReadModel(500);
const now = new Date();
for (let c = 0; c < CLUSTERS; c++) {
  const cluster = `bench-${String(c).padStart(2, '0')}`;
  let id = 0;
  const apply = (text: string) => {
    const decoded = decodeNodesTopicEvent(text);
    if (!decoded.ok) throw decoded.error;
    model.apply(decoded.value);
  };
  apply(encoded(cluster, ++id, 'cluster-registered', { cluster }));
  for (let i = 0; i < NODES; i++) {
    const name = `node-${String(i).padStart(5, '0')}`;
    const node = toNodeView(makeNode({ name }, now));
    apply(encoded(cluster, ++id, 'added', { cluster, name, node, changed: [...NodeField.options] }));
  }
}
gc();
const after = process.memoryUsage();
console.log(
  `heap ${((after.heapUsed - before) / 1048576).toFixed(1)} MiB for ${CLUSTERS * NODES} nodes = ${((after.heapUsed - before) / (CLUSTERS * NODES)).toFixed(0)} B/node; rss ${(after.rss / 1048576).toFixed(0)} MiB heapTotal ${(after.heapTotal / 1048576).toFixed(0)} MiB`,
);
if (process.argv.includes('--snapshot')) console.log(writeHeapSnapshot('/tmp/cache-model.heapsnapshot'));

const zone = parseLabelSelector('topology.kubernetes.io/zone=zone-1');
const clusters = model.clusterNames();
const t = performance.now();
let n = 0;
for (let i = 0; i < 2_000; i++) n += model.list(clusters[i % CLUSTERS]!, { selector: zone }, 0, 100).total;
console.log(`label selector: ${(((performance.now() - t) / 2_000) * 1000).toFixed(0)} µs/query (${n})`);

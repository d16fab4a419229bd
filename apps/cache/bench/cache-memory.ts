/**
 * One cache process as deployed (`startCache` alone in its process), for the benchmark's memory
 * figures: it rebuilds the read model from the bus, then reports over IPC the heap its read model
 * takes (heap after GC, ready, minus heap after GC before the start) and the process's RSS beside
 * its heap, before the start and once allocation has settled. Started by nodes.bench.ts with the bus settings in env.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startCache } from '../src/index.ts';

const SETTLE_MS = 3_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

gc();
const before = process.memoryUsage();
const started = performance.now();
const cache = await startCache({ source: { env: process.env } });
const catchUpMs = performance.now() - started;
const nodes = cache.model
  .clusterNames()
  .reduce((sum, cluster) => sum + cache.model.summary(cluster).nodes, 0);
gc();
// Let V8 hand back what the rebuild's garbage made it commit (its memory reducer runs when idle).
await sleep(SETTLE_MS);
gc();
const after = process.memoryUsage();
process.send?.({
  nodes,
  catchUpMs,
  heapBefore: before.heapUsed,
  rssBefore: before.rss,
  heapAfter: after.heapUsed,
  heapTotal: after.heapTotal,
  external: after.external + after.arrayBuffers,
  rss: after.rss,
});
await cache.stop('bench done');
process.exit(0);

/**
 * One cache process as deployed (`startCache` alone in its process), for the benchmark's memory
 * figures: it rebuilds the read model from the bus, then reports over IPC the heap its read model
 * takes (heap after GC, ready, minus heap after GC before the start) and the process's RSS beside
 * its heap, before the start and once allocation has settled, with where the RSS sits (`resident`).
 * Started by nodes.bench.ts with the bus settings and the cache's deployed NODE_OPTIONS and malloc
 * setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCache } from '../src/index.ts';

const SETTLE_MS = 3_000;
const SMAPS = '/proc/self/smaps';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

/**
 * Resident bytes by kind of mapping (Linux; undefined elsewhere): `file` the node binary and
 * shared libraries, `mallocHeap` glibc's main arena (`[heap]`), `anonymous` the rest — V8's heap
 * pages (committed, and pooled for reuse), other threads' malloc arenas, stacks.
 */
function residentByKind(): { file: number; mallocHeap: number; anonymous: number } | undefined {
  if (!existsSync(SMAPS)) return undefined;
  const sums = { file: 0, mallocHeap: 0, anonymous: 0 };
  let kind: keyof typeof sums = 'anonymous';
  for (const line of readFileSync(SMAPS, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[1] ?? '';
      kind = name.startsWith('/') ? 'file' : name === '[heap]' ? 'mallocHeap' : 'anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) sums[kind] += Number(rss[1]) * 1024;
  }
  return sums;
}

gc();
const before = process.memoryUsage();
const residentBefore = residentByKind();
const started = performance.now();
const cache = await startCache({ source: { env: process.env } });
const catchUpMs = performance.now() - started;
const nodes = cache.model
  .clusterNames()
  .reduce((sum, cluster) => sum + cache.model.summary(cluster).nodes, 0);
gc();
// Settle before measuring. Not V8's memory reducer: it starts no sooner than 8 s after the
// rebuild and, idle, waited ~100 s (it reads the allocation rate only at collections); the cache
// compacts its heap itself after the rebuild (TIDELINE_CACHE_COMPACT_AFTER_CATCH_UP).
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
  external: after.external, // includes arrayBuffers
  rss: after.rss,
  residentBefore,
  resident: residentByKind(),
});
await cache.stop('bench done');
process.exit(0);

/**
 * Bench-only wrapper: runs the entry named by BENCH_ENTRY (a gateway or the plain baseline) and,
 * on SIGUSR2, collects garbage and prints one line `{"memory":{…}}`, so run.ts can measure the
 * memory a connection costs after GC rather than RSS noise. Needs `node --expose-gc`. With
 * BENCH_HEAP_SNAPSHOT_DIR set, each report also writes a heap snapshot there and names it in the
 * line (`"snapshot"`), for bench/heap-profile.ts.
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

let snapshots = 0;
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  const dir = process.env['BENCH_HEAP_SNAPSHOT_DIR'];
  const snapshot = dir
    ? writeHeapSnapshot(join(dir, `${process.pid}-${++snapshots}.heapsnapshot`))
    : undefined;
  process.stdout.write(
    `${JSON.stringify({ memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external }, snapshot })}\n`,
  );
});
const entry = process.env['BENCH_ENTRY'];
if (!entry) throw new Error('BENCH_ENTRY is required');
await import(entry);

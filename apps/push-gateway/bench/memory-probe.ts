/**
 * Bench-only wrapper: runs the entry named by BENCH_ENTRY (a gateway or the plain baseline) and,
 * on SIGUSR2, collects garbage and prints one line `{"memory":{…}}`, so run.ts can measure the
 * memory a connection costs after GC rather than RSS noise. Needs `node --expose-gc`. With
 * BENCH_HEAP_SNAPSHOT_DIR set, each report also writes a heap snapshot there and names it in the
 * line (`"snapshot"`), for bench/heap-profile.ts.
 *
 * Steadiness: a full GC frees JS objects at once, but what hangs on them is released later — the
 * backing stores of collected Buffers (`external`) are swept concurrently, finalizers and the
 * close callbacks of native handles run in later tasks. So the probe collects in up to
 * BENCH_GC_PASSES passes (default 6), letting the event loop turn between them, and reports once
 * heapUsed + external moved less than BENCH_GC_SETTLED_BYTES (default 16 KiB) from one pass to
 * the next. The same for every process it wraps (gateway and plain alike).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const GC_PASSES = Number(process.env['BENCH_GC_PASSES'] ?? 6);
const GC_SETTLED_BYTES = Number(process.env['BENCH_GC_SETTLED_BYTES'] ?? 16 * 1024);
/** Between passes: long enough for the loop to run pending callbacks and the sweeper to finish. */
const GC_PASS_PAUSE_MS = Number(process.env['BENCH_GC_PASS_PAUSE_MS'] ?? 20);

async function collect(): Promise<{ memory: NodeJS.MemoryUsage; passes: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  let last = Number.NaN;
  let memory = process.memoryUsage();
  let passes = 0;
  while (passes < GC_PASSES) {
    gc?.();
    passes++;
    await sleep(GC_PASS_PAUSE_MS);
    memory = process.memoryUsage();
    const total = memory.heapUsed + memory.external;
    if (Math.abs(total - last) < GC_SETTLED_BYTES) break;
    last = total;
  }
  // The reading itself comes right after a collection, with nothing allocated in between.
  gc?.();
  return { memory: process.memoryUsage(), passes };
}

let snapshots = 0;
process.on('SIGUSR2', async () => {
  const { memory: m, passes } = await collect();
  // Compiled code is part of heapUsed; reported apart so a reader can tell JIT noise from per-socket data.
  const codeSpace =
    getHeapSpaceStatistics().find((space) => space.space_name === 'code_space')?.space_used_size ?? 0;
  const dir = process.env['BENCH_HEAP_SNAPSHOT_DIR'];
  const snapshot = dir
    ? writeHeapSnapshot(join(dir, `${process.pid}-${++snapshots}.heapsnapshot`))
    : undefined;
  process.stdout.write(
    `${JSON.stringify({ memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external, codeSpace, gcPasses: passes }, snapshot })}\n`,
  );
});
const entry = process.env['BENCH_ENTRY'];
if (!entry) throw new Error('BENCH_ENTRY is required');
await import(entry);

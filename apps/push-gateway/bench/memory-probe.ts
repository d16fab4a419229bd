/**
 * Bench-only wrapper: runs the entry named by BENCH_ENTRY (a gateway or the plain baseline) and,
 * on SIGUSR2, collects garbage and prints one line `{"memory":{…}}`, so run.ts can measure the
 * memory a connection costs after GC rather than RSS noise. Needs `node --expose-gc`.
 */
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external } })}\n`,
  );
});
const entry = process.env['BENCH_ENTRY'];
if (!entry) throw new Error('BENCH_ENTRY is required');
await import(entry);

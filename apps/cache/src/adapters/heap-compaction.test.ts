import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compactHeap } from './heap-compaction.ts';

describe('compactHeap', () => {
  it('collects garbage at once, synchronously', () => {
    let garbage: string[] | undefined = Array.from({ length: 200_000 }, (_, i) => `garbage-${i}`.repeat(4));
    expect(garbage.length).toBe(200_000);
    garbage = undefined;
    const { heapUsedBefore, heapUsedAfter, ms } = compactHeap();
    expect(heapUsedAfter).toBeLessThan(heapUsedBefore - 10 * 1024 * 1024);
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('leaves gc unexposed to the process and to contexts created afterwards', () => {
    const exposedBefore = typeof (globalThis as { gc?: unknown }).gc;
    compactHeap();
    compactHeap();
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(exposedBefore);
    if (exposedBefore === 'undefined') expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});

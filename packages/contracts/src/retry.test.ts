import { describe, expect, it } from 'vitest';
import { Backoff, type RandomSource, retryDelayMs } from './retry.ts';

/** A seeded uniform source (mulberry32), so the drawn delays are the same on every run. */
function seeded(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const policy = { initialMs: 100, maxMs: 5_000 };

describe('retryDelayMs', () => {
  it('retry - without jitter doubles from the first delay and stops at the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 60, 10_000].map((n) =>
      retryDelayMs({ ...policy, jitter: 'none' }, n),
    );
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]);
  });

  it('retry - a negative or fractional attempt is the first or the whole attempt below it', () => {
    expect(retryDelayMs({ ...policy, jitter: 'none' }, -3)).toBe(100);
    expect(retryDelayMs({ ...policy, jitter: 'none' }, 2.7)).toBe(400);
  });

  it('retry - full jitter stays within [0, exponential delay] and spreads over that range', () => {
    const random = seeded(42);
    for (let attempt = 0; attempt < 10; attempt++) {
      const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** attempt);
      const drawn = Array.from({ length: 500 }, () => retryDelayMs(policy, attempt, random));
      expect(Math.min(...drawn)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...drawn)).toBeLessThanOrEqual(cap);
      // Spread: some draws in the lowest and some in the highest tenth of the range.
      expect(drawn.some((d) => d < cap * 0.1)).toBe(true);
      expect(drawn.some((d) => d > cap * 0.9)).toBe(true);
    }
  });

  it('retry - equal jitter never goes below half the exponential delay', () => {
    const random = seeded(7);
    for (let attempt = 0; attempt < 10; attempt++) {
      const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** attempt);
      const drawn = Array.from({ length: 500 }, () =>
        retryDelayMs({ ...policy, jitter: 'equal' }, attempt, random),
      );
      expect(Math.min(...drawn)).toBeGreaterThanOrEqual(cap / 2);
      expect(Math.max(...drawn)).toBeLessThanOrEqual(cap);
      expect(drawn.some((d) => d < cap * 0.55)).toBe(true);
    }
  });

  it('retry - the random source bounds are honoured exactly (0 gives the cap, just under 1 the floor)', () => {
    expect(retryDelayMs(policy, 3, () => 0)).toBe(800);
    expect(retryDelayMs(policy, 3, () => 0.999_999)).toBeCloseTo(0, 2);
    expect(retryDelayMs({ ...policy, jitter: 'equal' }, 3, () => 0.999_999)).toBeCloseTo(400, 2);
  });

  it('retry - the same seed draws the same delays', () => {
    const a = Array.from({ length: 20 }, (_, i) => retryDelayMs(policy, i, seeded(1)));
    const b = Array.from({ length: 20 }, (_, i) => retryDelayMs(policy, i, seeded(1)));
    expect(a).toEqual(b);
  });
});

describe('Backoff', () => {
  it('backoff - counts attempts, grows to the cap and starts again from the first delay after reset', () => {
    const backoff = new Backoff({ ...policy, jitter: 'none' });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.attempt).toBe(3);
    for (let i = 0; i < 20; i++) backoff.next();
    expect(backoff.next()).toBe(5_000);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(100);
  });
});

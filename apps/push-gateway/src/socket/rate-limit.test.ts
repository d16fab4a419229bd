import { describe, expect, it } from 'vitest';
import { ClientRateLimit, type RateWindow } from './rate-limit.ts';

const fresh = (): RateWindow => ({ rateWindowEndsAtMs: 0, rateWindowUsed: 0 });

describe('ClientRateLimit', () => {
  it('budget - allows `events` per window and socket, then answers the time left in the window', () => {
    let now = 1_000;
    const limit = new ClientRateLimit({ events: 2, windowSeconds: 10, now: () => now });
    const [a, b] = [fresh(), fresh()];
    expect(limit.retryAfterMs(a)).toBe(0);
    now += 4_000;
    expect(limit.retryAfterMs(a)).toBe(0);
    expect(limit.retryAfterMs(a)).toBe(6_000);
    expect(limit.retryAfterMs(b)).toBe(0);
    now += 6_000;
    expect(limit.retryAfterMs(a)).toBe(0);
  });

  it('a window starts at the first event, also at time 0', () => {
    let now = 0;
    const limit = new ClientRateLimit({ events: 1, windowSeconds: 10, now: () => now });
    const a = fresh();
    expect(limit.retryAfterMs(a)).toBe(0);
    expect(limit.retryAfterMs(a)).toBe(10_000);
    now = 9_999;
    expect(limit.retryAfterMs(a)).toBe(1);
    now = 10_000;
    expect(limit.retryAfterMs(a)).toBe(0);
  });

  it('a new socket starts afresh, whatever an earlier one of the same user spent', () => {
    const limit = new ClientRateLimit({ events: 1, windowSeconds: 10, now: () => 0 });
    const first = fresh();
    expect(limit.retryAfterMs(first)).toBe(0);
    expect(limit.retryAfterMs(first)).toBeGreaterThan(0);
    expect(limit.retryAfterMs(fresh())).toBe(0);
  });
});

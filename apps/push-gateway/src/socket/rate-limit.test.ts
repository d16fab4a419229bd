import { describe, expect, it } from 'vitest';
import { ClientRateLimit } from './rate-limit.ts';

describe('ClientRateLimit', () => {
  it('budget - allows `events` per window and socket, then answers the time left in the window', () => {
    let now = 1_000;
    const limit = new ClientRateLimit({ events: 2, windowSeconds: 10, now: () => now });
    expect(limit.retryAfterMs('a')).toBe(0);
    now += 4_000;
    expect(limit.retryAfterMs('a')).toBe(0);
    expect(limit.retryAfterMs('a')).toBe(6_000);
    expect(limit.retryAfterMs('b')).toBe(0);
    now += 6_000;
    expect(limit.retryAfterMs('a')).toBe(0);
  });

  it('forget - a socket that left starts afresh', () => {
    const limit = new ClientRateLimit({ events: 1, windowSeconds: 10, now: () => 0 });
    expect(limit.retryAfterMs('a')).toBe(0);
    expect(limit.retryAfterMs('a')).toBeGreaterThan(0);
    limit.forget('a');
    expect(limit.retryAfterMs('a')).toBe(0);
  });
});

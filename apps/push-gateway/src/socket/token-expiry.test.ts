import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ExpiringToken, TokenExpiries } from './token-expiry.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A socket's expiry state, recording when it was told its token expired. */
function token(expired: number[] = []): ExpiringToken & { calls: number } {
  return {
    expiryDeadlineMs: 0,
    expiryIndex: -1,
    calls: 0,
    onExpired() {
      this.calls++;
      expired.push(Date.now());
    },
  };
}

describe('TokenExpiries', () => {
  it('fires once at exp plus the grace, not before', () => {
    const expiries = new TokenExpiries({ graceMs: 500, maxWaitMs: 60_000 });
    const t = token();
    expiries.set(t, Date.now() + 2_000);
    vi.advanceTimersByTime(2_499);
    expect(t.calls).toBe(0);
    vi.advanceTimersByTime(1);
    expect(t.calls).toBe(1);
    expect(expiries.size).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(t.calls).toBe(1);
  });

  it('a fresh token moves the deadline; clear stops it', () => {
    const expiries = new TokenExpiries({ graceMs: 0, maxWaitMs: 60_000 });
    const t = token();
    expiries.set(t, Date.now() + 1_000);
    vi.advanceTimersByTime(900);
    expiries.set(t, Date.now() + 5_000);
    vi.advanceTimersByTime(4_999);
    expect(t.calls).toBe(0);
    vi.advanceTimersByTime(1);
    expect(t.calls).toBe(1);
    expiries.set(t, Date.now() + 1_000);
    expiries.clear(t);
    expect(t.expiryIndex).toBe(-1);
    vi.advanceTimersByTime(10_000);
    expect(t.calls).toBe(1);
    expect(vi.getTimerCount(), 'no timer left once nothing waits').toBe(0);
  });

  it('a deadline beyond the longest timer is reached in steps, still exactly on time', () => {
    const expiries = new TokenExpiries({ graceMs: 0, maxWaitMs: 1_000 });
    const t = token();
    expiries.set(t, Date.now() + 3_500);
    vi.advanceTimersByTime(3_499);
    expect(t.calls).toBe(0);
    vi.advanceTimersByTime(1);
    expect(t.calls).toBe(1);
  });

  it('an already expired token fires at once', () => {
    const t = token();
    new TokenExpiries({ graceMs: 0, maxWaitMs: 1_000 }).set(t, Date.now() - 10);
    vi.advanceTimersByTime(0);
    expect(t.calls).toBe(1);
  });

  it('many sockets share one timer; a sooner deadline re-arms it, a socket that left is not told', () => {
    const expiries = new TokenExpiries({ graceMs: 0, maxWaitMs: 60_000 });
    const [late, soon, gone] = [token(), token(), token()];
    expiries.set(late, Date.now() + 5_000);
    expiries.set(gone, Date.now() + 1_000);
    expiries.set(soon, Date.now() + 2_000);
    expect(vi.getTimerCount()).toBe(1);
    expiries.clear(gone);
    vi.advanceTimersByTime(1_999);
    expect([late.calls, soon.calls, gone.calls]).toEqual([0, 0, 0]);
    vi.advanceTimersByTime(1);
    expect([late.calls, soon.calls, gone.calls]).toEqual([0, 1, 0]);
    vi.advanceTimersByTime(3_000);
    expect([late.calls, soon.calls, gone.calls]).toEqual([1, 1, 0]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a socket whose onExpired throws does not stop the others', () => {
    const expiries = new TokenExpiries({ graceMs: 0, maxWaitMs: 60_000 });
    const throwing: ExpiringToken = {
      expiryDeadlineMs: 0,
      expiryIndex: -1,
      onExpired() {
        throw new Error('boom');
      },
    };
    const [same, later] = [token(), token()];
    expiries.set(throwing, Date.now() + 1_000);
    expiries.set(same, Date.now() + 1_000);
    expiries.set(later, Date.now() + 2_000);
    expect(() => vi.advanceTimersByTime(1_000)).toThrow('boom');
    vi.advanceTimersByTime(1_000);
    expect([same.calls, later.calls]).toEqual([1, 1]);
  });

  it('property - whatever the sets and clears, each queued socket is told once, at its last deadline, never a cleared one', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            socket: fc.nat(7),
            op: fc.constantFrom('set', 'clear', 'wait'),
            ms: fc.integer({ min: -50, max: 3_000 }),
          }),
          { maxLength: 60 },
        ),
        (steps) => {
          vi.setSystemTime(1_000_000);
          vi.clearAllTimers();
          const expiries = new TokenExpiries({ graceMs: 7, maxWaitMs: 1_000 });
          const told: number[][] = Array.from({ length: 8 }, () => []);
          const sockets = told.map((times) => token(times));
          const due = new Map<number, number>();
          const check = () => {
            for (const [i, at] of due) {
              if (at > Date.now()) continue;
              // Told exactly at its deadline (or at once, when it was already past).
              expect(told[i]).toEqual([at]);
              told[i]!.length = 0;
              due.delete(i);
            }
            for (const [i, times] of told.entries()) if (!due.has(i)) expect(times).toEqual([]);
          };
          for (const { socket, op, ms } of steps) {
            if (op === 'set') {
              expiries.set(sockets[socket]!, Date.now() + ms);
              due.set(socket, Math.max(Date.now(), Date.now() + ms + 7));
            } else if (op === 'clear') {
              expiries.clear(sockets[socket]!);
              due.delete(socket);
            } else {
              for (let t = 0; t < Math.max(0, ms); t += 100) {
                vi.advanceTimersByTime(Math.min(100, ms - t));
                check();
              }
            }
            expect(expiries.size).toBe(due.size);
          }
          vi.advanceTimersByTime(10_000);
          check();
          expect(due.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

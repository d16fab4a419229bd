import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenExpiry } from './token-expiry.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TokenExpiry', () => {
  it('fires once at exp plus the grace, not before', () => {
    const onExpired = vi.fn();
    const expiry = new TokenExpiry({ graceMs: 500, maxWaitMs: 60_000, onExpired });
    expiry.extend(Date.now() + 2_000);
    vi.advanceTimersByTime(2_499);
    expect(onExpired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it('a fresh token moves the deadline; clear stops it', () => {
    const onExpired = vi.fn();
    const expiry = new TokenExpiry({ graceMs: 0, maxWaitMs: 60_000, onExpired });
    expiry.extend(Date.now() + 1_000);
    vi.advanceTimersByTime(900);
    expiry.extend(Date.now() + 5_000);
    vi.advanceTimersByTime(4_999);
    expect(onExpired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
    expiry.extend(Date.now() + 1_000);
    expiry.clear();
    vi.advanceTimersByTime(10_000);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it('a deadline beyond the longest timer is reached in steps, still exactly on time', () => {
    const onExpired = vi.fn();
    const expiry = new TokenExpiry({ graceMs: 0, maxWaitMs: 1_000, onExpired });
    expiry.extend(Date.now() + 3_500);
    vi.advanceTimersByTime(3_499);
    expect(onExpired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });

  it('an already expired token fires at once', () => {
    const onExpired = vi.fn();
    new TokenExpiry({ graceMs: 0, maxWaitMs: 1_000, onExpired }).extend(Date.now() - 10);
    vi.advanceTimersByTime(0);
    expect(onExpired).toHaveBeenCalledTimes(1);
  });
});

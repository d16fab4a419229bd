import { RateLimitedError } from './errors.ts';

export interface SnapshotGateOptions {
  /** A member is sent at most one snapshot it asked for per feed within this; 0: no limit. */
  intervalMs: number;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  now?: () => number;
}

/**
 * How often a member may be sent a snapshot it asked for, per feed (room). Shared by every feed
 * of a gateway and kept apart from their subscriptions, so leaving and joining a feed again (or
 * the feed being dropped when its last member left) does not reset it. Entries are kept in the
 * order they were made and expire after the interval, so it holds no more than the snapshots
 * served within one interval.
 */
export class SnapshotGate {
  private readonly served = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: SnapshotGateOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Throws {@link RateLimitedError} when `memberId` was served a snapshot of `room` within the interval. */
  check(memberId: string, room: string): void {
    if (this.options.intervalMs <= 0) return;
    const now = this.now();
    this.expire(now);
    const at = this.served.get(key(memberId, room));
    if (at === undefined) return;
    const retryAfterMs = Math.max(1, Math.ceil(at + this.options.intervalMs - now));
    throw new RateLimitedError(
      `a snapshot of ${room} was sent to this socket less than ${this.options.intervalMs} ms ago; resume from lastEventId, or ask again after retryAfterMs`,
      retryAfterMs,
    );
  }

  /** `memberId` was sent a snapshot of `room` it asked for. */
  record(memberId: string, room: string): void {
    if (this.options.intervalMs <= 0) return;
    const now = this.now();
    const k = key(memberId, room);
    this.served.delete(k);
    this.served.set(k, now);
    this.expire(now);
  }

  /** The feed ended or began a new epoch: its members may ask for a snapshot at once. */
  forget(memberId: string, room: string): void {
    this.served.delete(key(memberId, room));
  }

  private expire(now: number): void {
    for (const [k, at] of this.served) {
      if (now - at < this.options.intervalMs) return;
      this.served.delete(k);
    }
  }
}

function key(memberId: string, room: string): string {
  return `${room}\u0000${memberId}`;
}

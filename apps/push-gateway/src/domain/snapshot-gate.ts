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
 * the feed being dropped when its last member left) does not reset it. Entries are kept per room
 * in the order they were made and expire after the interval (every room's, at each call), so it
 * holds no more than the snapshots served within one interval. An entry is the member's id (the
 * socket's own string) and a whole number of milliseconds, so it adds no string or number object
 * of its own while the gateway has run less than ~24 days.
 */
export class SnapshotGate {
  /** Room → member id → when (monotonic ms, rounded up: a member never asks again sooner) it was served. */
  private readonly served = new Map<string, Map<string, number>>();
  private readonly now: () => number;

  constructor(private readonly options: SnapshotGateOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Throws {@link RateLimitedError} when `memberId` was served a snapshot of `room` within the interval. */
  check(memberId: string, room: string): void {
    if (this.options.intervalMs <= 0) return;
    const now = this.now();
    this.expire(now);
    const at = this.served.get(room)?.get(memberId);
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
    let members = this.served.get(room);
    if (!members) {
      members = new Map();
      this.served.set(room, members);
    }
    members.delete(memberId);
    members.set(memberId, Math.ceil(now));
    this.expire(now);
  }

  /** The feed ended or began a new epoch: its members may ask for a snapshot at once. */
  forget(memberId: string, room: string): void {
    const members = this.served.get(room);
    if (!members?.delete(memberId)) return;
    if (members.size === 0) this.served.delete(room);
  }

  private expire(now: number): void {
    for (const [room, members] of this.served) {
      for (const [memberId, at] of members) {
        if (now - at < this.options.intervalMs) break;
        members.delete(memberId);
      }
      if (members.size === 0) this.served.delete(room);
    }
  }
}

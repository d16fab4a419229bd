/**
 * What {@link TokenExpiries} keeps of one socket: its deadline and place in the queue live on the
 * socket's own state (no timer, no closure, no entry object per socket).
 */
export interface ExpiringToken {
  /** Epoch ms after which the socket is disconnected (`exp` + grace); owned by {@link TokenExpiries}. */
  expiryDeadlineMs: number;
  /** Place in the queue, -1 when not queued; owned by {@link TokenExpiries}. */
  expiryIndex: number;
  /** The deadline passed: called once, after the socket was taken out of the queue. */
  onExpired(): void;
}

export interface TokenExpiriesOptions {
  /** Added to `exp`, the same tolerance the verifier grants skewed clocks. */
  graceMs: number;
  /** Longest single timer; a later deadline is reached in steps (Node timers overflow past ~24.8 days). */
  maxWaitMs: number;
  /** Epoch milliseconds; defaults to `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * The token expiries of every socket of a gateway, in one queue under one timer: a socket's
 * `onExpired` runs once its deadline (`exp` + grace) has passed, unless {@link set} moved the
 * deadline first or {@link clear} took the socket out (it closed). Deadlines are kept in a binary
 * heap ordered by time; the timer is armed for the earliest one, so each socket is told on time
 * (never before its deadline), however many sockets there are. An idle socket costs two numbers.
 */
export class TokenExpiries {
  private readonly heap: ExpiringToken[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (epoch ms); +Infinity when none is armed. */
  private armedAtMs = Number.POSITIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: TokenExpiriesOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Sockets waiting for their token to expire. */
  get size(): number {
    return this.heap.length;
  }

  /** Sets the token's expiry (epoch ms) of `token`, queuing it or moving it in the queue. */
  set(token: ExpiringToken, expiresAtMs: number): void {
    token.expiryDeadlineMs = expiresAtMs + this.options.graceMs;
    if (token.expiryIndex < 0) {
      token.expiryIndex = this.heap.length;
      this.heap.push(token);
      this.up(token.expiryIndex);
    } else if (!this.up(token.expiryIndex)) {
      this.down(token.expiryIndex);
    }
    if (token.expiryDeadlineMs < this.armedAtMs) this.arm();
  }

  /** Takes `token` out of the queue (its socket closed); nothing when it is not queued. */
  clear(token: ExpiringToken): void {
    const index = token.expiryIndex;
    if (index < 0) return;
    token.expiryIndex = -1;
    const last = this.heap.pop()!;
    if (last !== token) {
      this.heap[index] = last;
      last.expiryIndex = index;
      if (!this.up(index)) this.down(index);
    }
    // The timer stays armed: firing early for a socket that left finds nothing due and re-arms.
    if (this.heap.length === 0) this.disarm();
  }

  private arm(): void {
    this.disarm();
    const first = this.heap[0];
    if (!first) return;
    const now = this.now();
    const waitMs = Math.min(Math.max(0, first.expiryDeadlineMs - now), this.options.maxWaitMs);
    this.armedAtMs = now + waitMs;
    this.timer = setTimeout(TokenExpiries.fire, waitMs, this);
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAtMs = Number.POSITIVE_INFINITY;
  }

  /** One shared callback: the queue is its argument, so arming costs no closure. */
  private static fire(this: void, expiries: TokenExpiries): void {
    expiries.timer = undefined;
    expiries.armedAtMs = Number.POSITIVE_INFINITY;
    try {
      const now = expiries.now();
      for (let first = expiries.heap[0]; first && first.expiryDeadlineMs <= now; first = expiries.heap[0]) {
        expiries.clear(first);
        first.onExpired();
      }
    } finally {
      // Also after an `onExpired` that threw: the other sockets keep their timer.
      if (expiries.timer === undefined) expiries.arm();
    }
  }

  /** Moves the entry at `index` towards the root while it is due sooner than its parent; true when it moved. */
  private up(index: number): boolean {
    const heap = this.heap;
    const token = heap[index]!;
    let at = index;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt]!;
      if (parent.expiryDeadlineMs <= token.expiryDeadlineMs) break;
      heap[at] = parent;
      parent.expiryIndex = at;
      at = parentAt;
    }
    heap[at] = token;
    token.expiryIndex = at;
    return at !== index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const token = heap[index]!;
    const half = heap.length >> 1;
    let at = index;
    while (at < half) {
      let childAt = 2 * at + 1;
      const right = childAt + 1;
      if (right < heap.length && heap[right]!.expiryDeadlineMs < heap[childAt]!.expiryDeadlineMs)
        childAt = right;
      const child = heap[childAt]!;
      if (token.expiryDeadlineMs <= child.expiryDeadlineMs) break;
      heap[at] = child;
      child.expiryIndex = at;
      at = childAt;
    }
    heap[at] = token;
    token.expiryIndex = at;
  }
}

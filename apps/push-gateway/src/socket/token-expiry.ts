export interface TokenExpiryOptions {
  /** Added to `exp`, the same tolerance the verifier grants skewed clocks. */
  readonly graceMs: number;
  /** Longest single timer; a later deadline is reached in steps (Node timers overflow past ~24.8 days). */
  readonly maxWaitMs: number;
  onExpired(): void;
  readonly now?: (() => number) | undefined;
}

/**
 * The expiry of one socket's token: `onExpired` runs once the deadline (`exp` + grace) has passed,
 * unless {@link extend} moved it in time. Cleared when the socket closes.
 */
export class TokenExpiry {
  private timer: NodeJS.Timeout | undefined;
  private deadlineMs = Number.POSITIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: TokenExpiryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Sets the token's expiry (epoch ms) and (re)arms the timer. */
  extend(expiresAtMs: number): void {
    this.deadlineMs = expiresAtMs + this.options.graceMs;
    this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.clear();
    const waitMs = Math.max(0, this.deadlineMs - this.now());
    // One shared callback, so an armed expiry costs a timer and no closure.
    this.timer = setTimeout(TokenExpiry.fire, Math.min(waitMs, this.options.maxWaitMs), this);
    this.timer.unref();
  }

  private static fire(this: void, expiry: TokenExpiry): void {
    expiry.timer = undefined;
    if (expiry.now() >= expiry.deadlineMs) expiry.options.onExpired();
    else expiry.arm();
  }
}

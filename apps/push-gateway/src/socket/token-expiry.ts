export interface TokenExpiryOptions {
  /** Added to `exp`, the same tolerance the verifier grants skewed clocks. */
  graceMs: number;
  /** Longest single timer; a later deadline is reached in steps (Node timers overflow past ~24.8 days). */
  maxWaitMs: number;
  onExpired: () => void;
  now?: () => number;
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
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.now() >= this.deadlineMs) this.options.onExpired();
        else this.arm();
      },
      Math.min(waitMs, this.options.maxWaitMs),
    );
    this.timer.unref();
  }
}

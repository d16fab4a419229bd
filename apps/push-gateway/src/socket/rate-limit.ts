export interface ClientRateLimitOptions {
  /** Events allowed per window and socket. */
  events: number;
  windowSeconds: number;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  now?: () => number;
}

/**
 * One socket's current window, kept on the socket's own state (so a socket costs two numbers,
 * no entry of its own, and nothing is left behind when it goes). Starts as `{ 0, 0 }`.
 */
export interface RateWindow {
  /** When the current window ends (monotonic ms, never negative); 0 before the first event. */
  rateWindowEndsAtMs: number;
  /** Events spent in the current window. */
  rateWindowUsed: number;
}

/**
 * Per-socket budget of client events: within it an event is handled, beyond it refused without
 * work. Fixed windows starting at a socket's first event; no timer (a window is renewed when the
 * next event finds it ended).
 */
export class ClientRateLimit {
  private readonly now: () => number;

  constructor(private readonly options: ClientRateLimitOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Spends one event of the socket's budget (`window`). Answers 0 when it was within the budget,
   * else how many milliseconds remain until the current window ends.
   */
  retryAfterMs(window: RateWindow): number {
    const now = this.now();
    if (now >= window.rateWindowEndsAtMs) {
      window.rateWindowEndsAtMs = now + this.options.windowSeconds * 1000;
      window.rateWindowUsed = 0;
    }
    if (window.rateWindowUsed < this.options.events) {
      window.rateWindowUsed++;
      return 0;
    }
    return Math.max(1, Math.ceil(window.rateWindowEndsAtMs - now));
  }
}

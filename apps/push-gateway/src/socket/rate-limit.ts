export interface ClientRateLimitOptions {
  /** Events allowed per window and socket. */
  events: number;
  windowSeconds: number;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  now?: () => number;
}

/** One socket's current window: when it ends and how many events it spent. */
interface Window {
  endsAtMs: number;
  used: number;
}

/**
 * Per-socket budget of client events: within it an event is handled, beyond it refused without
 * work. Fixed windows starting at a socket's first event; a socket holds one small entry and no
 * timer (a window is renewed when the next event finds it ended), dropped by {@link forget}.
 */
export class ClientRateLimit {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;

  constructor(private readonly options: ClientRateLimitOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Spends one event of `socketId`'s budget. Answers 0 when it was within the budget, else how
   * many milliseconds remain until the current window ends.
   */
  retryAfterMs(socketId: string): number {
    const now = this.now();
    let window = this.windows.get(socketId);
    if (!window || now >= window.endsAtMs) {
      window = { endsAtMs: now + this.options.windowSeconds * 1000, used: 0 };
      this.windows.set(socketId, window);
    }
    if (window.used < this.options.events) {
      window.used++;
      return 0;
    }
    return Math.max(1, Math.ceil(window.endsAtMs - now));
  }

  forget(socketId: string): void {
    this.windows.delete(socketId);
  }
}

import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface ClientRateLimitOptions {
  /** Events allowed per window and socket. */
  events: number;
  windowSeconds: number;
}

/** A client event beyond its socket's budget; `retryAfterMs`: until the window frees one. */
/** Per-socket budget of client events: within it an event is handled, beyond it refused without work. */
export class ClientRateLimit {
  private readonly limiter: RateLimiterMemory;

  constructor(options: ClientRateLimitOptions) {
    this.limiter = new RateLimiterMemory({ points: options.events, duration: options.windowSeconds });
  }

  /**
   * Spends one event of `socketId`'s budget. Answers 0 when it was within the budget, else how
   * many milliseconds remain until the current window ends.
   */
  async retryAfterMs(socketId: string): Promise<number> {
    try {
      await this.limiter.consume(socketId, 1);
      return 0;
    } catch (error) {
      if (error instanceof RateLimiterRes) return Math.max(1, Math.ceil(error.msBeforeNext));
      throw error;
    }
  }

  forget(socketId: string): void {
    void this.limiter.delete(socketId);
  }
}

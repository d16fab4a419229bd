import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface ClientRateLimitOptions {
  /** Events allowed per window and socket. */
  events: number;
  windowSeconds: number;
}

/** Per-socket budget of client events: within it an event is handled, beyond it refused without work. */
export class ClientRateLimit {
  private readonly limiter: RateLimiterMemory;

  constructor(options: ClientRateLimitOptions) {
    this.limiter = new RateLimiterMemory({ points: options.events, duration: options.windowSeconds });
  }

  /** Spends one event of `socketId`'s budget; false when the budget of the current window is spent. */
  async allow(socketId: string): Promise<boolean> {
    try {
      await this.limiter.consume(socketId, 1);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    }
  }

  forget(socketId: string): void {
    void this.limiter.delete(socketId);
  }
}

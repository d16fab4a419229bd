import type { Redis } from 'ioredis';

/**
 * Auto-pipelining without waiting: the first command of an event-loop turn corks the connection's
 * socket and a `process.nextTick` uncorks it, once the promise jobs queued by then (e.g. the
 * continuations of every call whose reply arrived in the same read) have run; every command
 * issued meanwhile leaves in one write (one system call for the client, one read for Redis).
 * Unlike ioredis's `enableAutoPipelining` a command is not held until the next turn (no added
 * latency for a lone call) and a batch does not wait for the previous batch's replies (Redis is
 * never left idle while replies are being handled). Commands are still sent by ioredis one by
 * one, so fail-fast (no offline queue) and the per-command timeout are unchanged.
 */
export class WriteCoalescer {
  private holding = false;

  constructor(private readonly redis: Redis) {}

  /** Holds the writes of this turn; a no-op unless the connection is ready. */
  hold(): void {
    if (this.holding || this.redis.status !== 'ready') return;
    const socket = this.redis.stream;
    this.holding = true;
    socket.cork();
    process.nextTick(() => {
      this.holding = false;
      socket.uncork();
    });
  }
}

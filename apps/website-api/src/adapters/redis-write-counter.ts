import type { RedisConnectionOptions } from '@tideline/config';
import { Counter, type Logger, type Registry } from '@tideline/runtime';
import { Redis } from 'ioredis';

/** One count per key and window: the count so far (this one included) and the time left in the window. */
export interface WindowCount {
  current: number;
  ttlMs: number;
}

export interface RedisWriteCounterOptions {
  url: string;
  /** Credentials and TLS beyond the URL (`redisConnectionOptions` of @tideline/config). */
  connection?: RedisConnectionOptions | undefined;
  commandTimeoutMs: number;
  keyPrefix: string;
  /** Shown by `CLIENT LIST`. */
  connectionName: string;
  logger: Logger;
  metrics: Registry;
}

// INCR, and start the window on the first count. A key left without expiry (never by this script)
// gets one, so no subject can be locked out for good.
const COUNT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;

type CountingRedis = Redis & {
  countWrite(key: string, windowMs: number): Promise<[number, number]>;
};

/**
 * Fixed-window counters in Redis, one key per subject, so every replica of website-api counts
 * against the same limit. Each count is one atomic script call. Commands fail fast while Redis is
 * away (no offline queue, a command timeout): the caller decides what a failed count means; each
 * failure is counted in `tideline_website_api_rate_limit_store_failures_total`.
 */
export class RedisWriteCounter {
  private readonly redis: CountingRedis;
  private readonly failures: Counter;
  private lastWarnMs = 0;

  constructor(private readonly options: RedisWriteCounterOptions) {
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      connectionName: options.connectionName,
      ...options.connection,
    }) as CountingRedis;
    this.redis.defineCommand('countWrite', { numberOfKeys: 1, lua: COUNT_SCRIPT });
    this.redis.on('error', (error: Error) => this.warn(error, 'redis (write rate limit) error'));
    this.failures = new Counter({
      name: 'tideline_website_api_rate_limit_store_failures_total',
      help: 'Write rate-limit counts that failed because Redis was unreachable or slow; those writes were let through (fail open).',
      registers: [options.metrics],
    });
  }

  /**
   * Connects, waiting at most the command timeout: website-api starts and serves while Redis is
   * away (ioredis keeps reconnecting in the background).
   */
  async start(): Promise<void> {
    await this.redis
      .connect()
      .catch((error: Error) => this.warn(error, 'redis (write rate limit) unreachable'));
  }

  /** True while the connection is up. */
  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /** Counts one write of `key` in its window; rejects when Redis did not answer (counted, logged). */
  async count(key: string, windowMs: number): Promise<WindowCount> {
    try {
      const [current, ttlMs] = await this.redis.countWrite(this.options.keyPrefix + key, windowMs);
      return { current, ttlMs };
    } catch (error) {
      this.failures.inc();
      this.warn(error as Error, 'write rate limit not applied: redis did not answer (failing open)');
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.redis.disconnect();
  }

  // ioredis reports each failed reconnect attempt; one line a second is enough.
  private warn(error: Error, message: string): void {
    const now = Date.now();
    if (now - this.lastWarnMs < 1_000) return;
    this.lastWarnMs = now;
    this.options.logger.warn({ err: error }, message);
  }
}

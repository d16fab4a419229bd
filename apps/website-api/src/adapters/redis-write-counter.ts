import type { RedisConnectionOptions } from '@tideline/config';
import { Counter, type Logger, type Registry } from '@tideline/runtime';
import { Redis } from 'ioredis';
import { RESERVE_SHARE_OF_REMAINING, type Reservation, type WindowCount, WriteQuota } from './write-quota.ts';

export interface RedisWriteCounterOptions {
  url: string;
  /** Credentials and TLS beyond the URL (`redisConnectionOptions` of @tideline/config). */
  connection?: RedisConnectionOptions | undefined;
  commandTimeoutMs: number;
  keyPrefix: string;
  /** Writes per subject and window. */
  max: number;
  windowMs: number;
  /** Writes one reservation may take at most (see WriteQuota); 1: every write asks Redis. */
  reserveMax: number;
  /** Subjects this replica holds reservations for at most. */
  subjectsMax: number;
  /** Shown by `CLIENT LIST`. */
  connectionName: string;
  logger: Logger;
  metrics: Registry;
}

// Reserves at most ARGV[2] writes in the window of KEYS[1] (ARGV[1] ms from its first write): never
// past ARGV[3] in the window, never more than 1/ARGV[4] of what is left (at least one while any is).
// Answers {granted, count after, ttl}; granted 0 when the window is full (nothing is added). A key
// left without expiry (never by this script) gets one, so no subject can be locked out for good.
const RESERVE_SCRIPT = `
local window, wanted, max, share = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = max - current
local granted = 0
if left > 0 then
  granted = math.max(1, math.min(wanted, math.floor(left / share)))
  current = redis.call('INCRBY', KEYS[1], granted)
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {granted, current, ttl}
`;

type ReservingRedis = Redis & {
  reserveWrites(
    key: string,
    windowMs: number,
    wanted: number,
    max: number,
    share: number,
  ): Promise<[number, number, number]>;
};

/**
 * Fixed-window counters in Redis, one key per subject, so every replica of website-api counts
 * against the same limit. Each reservation is one atomic script call; a busy subject's writes are
 * counted from numbers reserved ahead of time ({@link WriteQuota}). Commands fail fast while Redis
 * is away (no offline queue, a command timeout): the caller decides what a failed count means;
 * each count that failed is counted in `tideline_website_api_rate_limit_store_failures_total`.
 */
export class RedisWriteCounter {
  private readonly redis: ReservingRedis;
  private readonly quota: WriteQuota;
  private readonly failures: Counter;
  private sweeping: NodeJS.Timeout | null = null;
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
    }) as ReservingRedis;
    this.redis.defineCommand('reserveWrites', { numberOfKeys: 1, lua: RESERVE_SCRIPT });
    this.redis.on('error', (error: Error) => this.warn(error, 'redis (write rate limit) error'));
    this.quota = new WriteQuota({
      reserve: (key, wanted) => this.reserve(key, wanted),
      reserveMax: options.reserveMax,
      subjectsMax: options.subjectsMax,
    });
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
    // Subjects whose window is over are forgotten once a window.
    this.sweeping = setInterval(() => this.quota.sweep(), this.options.windowMs).unref();
    await this.redis
      .connect()
      .catch((error: Error) => this.warn(error, 'redis (write rate limit) unreachable'));
  }

  /** True while the connection is up. */
  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Counts one write of `key` in its window (its number; above the limit: refused); rejects when
   * Redis did not answer and nothing was held for the subject (counted, logged).
   */
  async count(key: string): Promise<WindowCount> {
    try {
      return await this.quota.count(key);
    } catch (error) {
      this.failures.inc();
      this.warn(error as Error, 'write rate limit not applied: redis did not answer (failing open)');
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.sweeping) clearInterval(this.sweeping);
    this.redis.disconnect();
  }

  /** Writes per subject and window: the limit this counter enforces. */
  get max(): number {
    return this.options.max;
  }

  get windowMs(): number {
    return this.options.windowMs;
  }

  /** One reservation in Redis (the script above). */
  async reserve(key: string, wanted: number): Promise<Reservation> {
    const [granted, current, ttlMs] = await this.redis.reserveWrites(
      this.options.keyPrefix + key,
      this.options.windowMs,
      wanted,
      this.options.max,
      RESERVE_SHARE_OF_REMAINING,
    );
    return { granted, current, ttlMs };
  }

  // ioredis reports each failed reconnect attempt; one line a second is enough.
  private warn(error: Error, message: string): void {
    const now = Date.now();
    if (now - this.lastWarnMs < 1_000) return;
    this.lastWarnMs = now;
    this.options.logger.warn({ err: error }, message);
  }
}

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisStatefulExecutor, type RedisStatefulExecutorOptions } from '../src/redis-executor.ts';

export const SHARED_REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Short bounds so failure tests finish quickly; real services take theirs from config. */
export const TEST_TIMEOUTS = {
  commandTimeoutMs: 300,
  connectTimeoutMs: 300,
  reconnectBackoff: { initialMs: 20, maxMs: 200 },
} as const;

/** A namespace no other test (or engineer) uses. */
export function uniqueNs(prefix = 'tst'): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

export function executorFor(
  url: string,
  overrides: Partial<RedisStatefulExecutorOptions> = {},
): RedisStatefulExecutor {
  return new RedisStatefulExecutor({ url, ...TEST_TIMEOUTS, ...overrides });
}

/** A plain client for looking at (and corrupting) keys behind the executor's back. */
export function adminClient(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
}

/** Deletes every key of namespace `ns` (all carry `{ns` right after `tl:`). */
export async function deleteNamespace(redis: Redis, ns: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  for (let round = 0; round < 10_000; round++) {
    const [next, found] = await redis.scan(cursor, 'MATCH', `tl:{${ns}*`, 'COUNT', 1000);
    if (found.length > 0) deleted += await redis.del(...found);
    cursor = next;
    if (cursor === '0') break;
  }
  return deleted;
}

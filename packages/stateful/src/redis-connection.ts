import { type RedisConnectionOptions, redisConnectionOptions } from '@tideline/config';
import { Redis } from 'ioredis';
import type { StatefulConfig } from './factory.ts';

/**
 * How a fail-fast Redis connection of Tideline is opened: the executor, the informer's cluster
 * leases and its registration store all connect this way.
 */
export interface RedisConnectionSpec {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Credentials and TLS (`redisConnectionOptions` of @tideline/config); they win over the URL's. */
  connection?: RedisConnectionOptions | undefined;
  /** A command without a reply by then fails as unavailable (`timeout`). */
  commandTimeoutMs: number;
  /** Opening a connection gives up after this. */
  connectTimeoutMs: number;
  /** Reconnect delays after the connection dropped: doubling from `initialMs` up to `maxMs`. */
  reconnectBackoff: { initialMs: number; maxMs: number };
  /** Shown by `CLIENT LIST`, e.g. `push-gateway:pod-7`. */
  connectionName?: string | undefined;
  /** Connection errors (already retried by the client) are reported here; default: ignored. */
  onConnectionError?: ((error: Error) => void) | undefined;
}

/** The connection the configuration describes (TIDELINE_REDIS_* and TIDELINE_STATEFUL_* settings). */
export function redisConnectionSpec(
  config: StatefulConfig,
  extra: Pick<RedisConnectionSpec, 'connectionName' | 'onConnectionError'> = {},
): RedisConnectionSpec {
  return {
    url: config.redisUrl,
    connection: redisConnectionOptions(config),
    commandTimeoutMs: config.redisCommandTimeoutMs,
    connectTimeoutMs: config.statefulConnectTimeoutMs,
    reconnectBackoff: {
      initialMs: config.statefulReconnectBackoffMs,
      maxMs: config.statefulReconnectBackoffMaxMs,
    },
    ...extra,
  };
}

/** Reconnect delay of attempt `attempt` (1-based): doubling from `initialMs`, capped at `maxMs`. */
export function reconnectDelay(attempt: number, backoff: { initialMs: number; maxMs: number }): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * A client that fails fast while Redis is away: no offline queue, no retries per request, a command
 * timeout; it reconnects in the background with doubling backoff. Not connected yet (`lazyConnect`).
 */
export function openRedis(spec: RedisConnectionSpec): Redis {
  const redis = new Redis(spec.url, {
    ...spec.connection,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: spec.commandTimeoutMs,
    connectTimeout: spec.connectTimeoutMs,
    retryStrategy: (attempt) => reconnectDelay(attempt, spec.reconnectBackoff),
    ...(spec.connectionName ? { connectionName: spec.connectionName } : {}),
  });
  redis.on('error', (error: Error) => spec.onConnectionError?.(error));
  return redis;
}

/** Quits politely when connected, then drops the connection whatever happened. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    if (redis.status === 'ready') await redis.quit();
  } catch {
    // The connection was going away anyway; disconnect below settles it.
  } finally {
    redis.disconnect();
  }
}

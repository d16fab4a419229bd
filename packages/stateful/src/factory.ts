import {
  type ConfigOf,
  type RedisConfig,
  redisConnectionOptions,
  type statefulSettings,
} from '@tideline/config';
import { RedisStatefulExecutor } from './redis-executor.ts';

/** The settings the executor reads: `redisSettings` and `statefulSettings` of @tideline/config. */
export type StatefulConfig = RedisConfig & ConfigOf<typeof statefulSettings>;

export interface CreateStatefulExecutorOptions {
  config: StatefulConfig;
  /** Shown by `CLIENT LIST`, e.g. the service and pod. */
  connectionName?: string;
  onConnectionError?: (error: Error) => void;
}

/** The executor the configuration describes, not yet connected (call `connect()`). */
export function createStatefulExecutor(options: CreateStatefulExecutorOptions): RedisStatefulExecutor {
  const { config } = options;
  return new RedisStatefulExecutor({
    url: config.redisUrl,
    connection: redisConnectionOptions(config),
    commandTimeoutMs: config.redisCommandTimeoutMs,
    connectTimeoutMs: config.statefulConnectTimeoutMs,
    reconnectBackoff: {
      initialMs: config.statefulReconnectBackoffMs,
      maxMs: config.statefulReconnectBackoffMaxMs,
    },
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(options.onConnectionError ? { onConnectionError: options.onConnectionError } : {}),
  });
}

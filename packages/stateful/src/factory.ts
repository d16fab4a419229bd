import type { ConfigOf, RedisConfig, statefulSettings } from '@tideline/config';
import { redisConnectionSpec } from './redis-connection.ts';
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
  return new RedisStatefulExecutor(
    redisConnectionSpec(options.config, {
      connectionName: options.connectionName,
      onConnectionError: options.onConnectionError,
    }),
  );
}

import type { ConfigOf, RedisConfig, statefulSettings } from '@tideline/config';
import type { Registry } from 'prom-client';
import { createStatefulMetrics, observeStatefulExecutor, type StatefulObserver } from './metrics.ts';
import { redisConnectionSpec } from './redis-connection.ts';
import { RedisStatefulExecutor } from './redis-executor.ts';

/** Settings of the executor a config may leave out (their defaults apply). */
type OptionalSettings = 'statefulAutoPipelining' | 'statefulComputeBatchMax';

/** `statefulSettings` of @tideline/config; {@link OptionalSettings} may be left out. */
export type StatefulSettingsConfig = Omit<ConfigOf<typeof statefulSettings>, OptionalSettings> &
  Partial<Pick<ConfigOf<typeof statefulSettings>, OptionalSettings>>;

/** The settings the executor reads: `redisSettings` and `statefulSettings` of @tideline/config. */
export type StatefulConfig = RedisConfig & StatefulSettingsConfig;

export interface CreateStatefulExecutorOptions {
  config: StatefulConfig;
  /** Shown by `CLIENT LIST`, e.g. the service and pod. */
  connectionName?: string;
  onConnectionError?: (error: Error) => void;
  /**
   * Where calls, latency and errors per operation go: a service's registry (the
   * `tideline_stateful_operation_*` metrics), or any observer. Unset: not observed.
   */
  metrics?: Registry | StatefulObserver;
}

/** The executor the configuration describes, not yet connected (call `connect()`). */
export function createStatefulExecutor(options: CreateStatefulExecutorOptions): RedisStatefulExecutor {
  const executor = new RedisStatefulExecutor({
    ...redisConnectionSpec(options.config, {
      connectionName: options.connectionName,
      onConnectionError: options.onConnectionError,
    }),
    autoPipelining: options.config.statefulAutoPipelining,
    computeBatchMax: options.config.statefulComputeBatchMax,
  });
  if (options.metrics === undefined) return executor;
  const observer = 'completed' in options.metrics ? options.metrics : createStatefulMetrics(options.metrics);
  return observeStatefulExecutor(executor, observer);
}

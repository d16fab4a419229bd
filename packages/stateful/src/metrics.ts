import { Counter, Histogram, type Registry } from 'prom-client';
import { StatefulError, StatefulUnavailableError } from './errors.ts';
import type { StatefulExecutor } from './types.ts';

/** Every operation of the {@link StatefulExecutor} that is observed (its public methods). */
export const STATEFUL_OPERATIONS = [
  'setServiceState',
  'getServiceState',
  'removeServiceState',
  'setWorkloadState',
  'getWorkloadState',
  'setLinkedPod',
  'trySetLinkedPod',
  'setLinkedPodIfAbsent',
  'computeLinkedPodIfAbsent',
  'getLinkedPod',
  'removeLinkedPod',
  'removeLinkedPodWithId',
  'getLinkService',
  'renewLeases',
  'acquireConnection',
  'releaseConnection',
  'countConnections',
] as const satisfies readonly (keyof StatefulExecutor)[];
export type StatefulOperation = (typeof STATEFUL_OPERATIONS)[number];

/** Told about every executor call when it settles; must not throw. */
export interface StatefulObserver {
  /** `error` is a closed-set label: the executor error's class kind, or `internal` for anything else. */
  completed(operation: StatefulOperation, seconds: number, error: string | undefined): void;
}

/** The label of a failure: `unavailable_<reason>`, the error's name in snake case, or `internal`. */
export function statefulErrorKind(error: unknown): string {
  if (error instanceof StatefulUnavailableError) return `unavailable_${error.reason}`;
  if (error instanceof StatefulError)
    return error.name
      .replace(/^Stateful/, '')
      .replace(/Error$/, '')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .toLowerCase();
  return 'internal';
}

const DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Prometheus metrics of the stateful executor: `tideline_stateful_operation_duration_seconds`
 * (calls and latency, by operation and outcome `ok`/`error`) and
 * `tideline_stateful_operation_errors_total` (by operation and error kind).
 */
export function createStatefulMetrics(registry: Registry): StatefulObserver {
  const duration = new Histogram({
    name: 'tideline_stateful_operation_duration_seconds',
    help: 'Calls of the stateful executor (Redis) from start to answer, by operation and outcome (ok, error); its _count is the number of calls.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'tideline_stateful_operation_errors_total',
    help: 'Failed calls of the stateful executor, by operation and kind (unavailable_offline, unavailable_timeout, validation, wrong_type, command, chooser, internal, ...).',
    labelNames: ['operation', 'kind'] as const,
    registers: [registry],
  });
  return {
    completed(operation, seconds, error) {
      duration.observe({ operation, outcome: error === undefined ? 'ok' : 'error' }, seconds);
      if (error !== undefined) errors.inc({ operation, kind: error });
    },
  };
}

/**
 * Reports every operation of `executor` to `observer` by replacing its methods with timed ones
 * (on this instance only); returns the same executor.
 */
export function observeStatefulExecutor<E extends StatefulExecutor>(
  executor: E,
  observer: StatefulObserver,
): E {
  const target = executor as unknown as Record<StatefulOperation, (...args: unknown[]) => Promise<unknown>>;
  for (const operation of STATEFUL_OPERATIONS) {
    const original = target[operation].bind(executor);
    target[operation] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        const result = await original(...args);
        observer.completed(operation, (performance.now() - started) / 1000, undefined);
        return result;
      } catch (error) {
        observer.completed(operation, (performance.now() - started) / 1000, statefulErrorKind(error));
        throw error;
      }
    };
  }
  return executor;
}

import { loadConfig, redisSettings, statefulSettings } from '@tideline/config';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatefulValidationError } from '../src/errors.ts';
import { createStatefulExecutor } from '../src/factory.ts';
import { createStatefulMetrics, observeStatefulExecutor } from '../src/metrics.ts';
import { adminClient, deleteNamespace, executorFor, SHARED_REDIS_URL, uniqueNs } from './fixtures.ts';

const ns = uniqueNs('metrics');
let admin: ReturnType<typeof adminClient>;
beforeAll(() => {
  admin = adminClient(SHARED_REDIS_URL);
});
afterAll(async () => {
  await deleteNamespace(admin, ns);
  admin.disconnect();
});

/** Value of one series of the registry (0 when absent). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find(
    (m) => m.name === name || m.name === name.replace(/_(count|sum|bucket)$/, ''),
  );
  const values = (metric?.values ?? []) as {
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }[];
  return (
    values.find(
      (v) =>
        (v.metricName === undefined || v.metricName === name) &&
        Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
    )?.value ?? 0
  );
}

describe('stateful executor metrics', () => {
  it('stateful metrics - calls, latency and errors are counted per operation', async () => {
    const registry = new Registry();
    await using executor = observeStatefulExecutor(
      executorFor(SHARED_REDIS_URL),
      createStatefulMetrics(registry),
    );
    await executor.connect();
    await executor.setServiceState({ ns, service: 'web', podId: 'pod-1', state: 'ready' });
    await executor.setServiceState({ ns, service: 'web', podId: 'pod-2', state: 'ready' });
    expect(await executor.getServiceState(ns, 'web')).toEqual(
      new Map([
        ['pod-1', 'ready'],
        ['pod-2', 'ready'],
      ]),
    );
    await expect(
      executor.setServiceState({ ns: 'bad ns!', service: 'web', podId: 'p', state: 's' }),
    ).rejects.toThrow(StatefulValidationError);
    const count = (operation: string, outcome: string) =>
      sample(registry, 'tideline_stateful_operation_duration_seconds_count', { operation, outcome });
    expect(await count('setServiceState', 'ok')).toBe(2);
    expect(await count('getServiceState', 'ok')).toBe(1);
    expect(await count('setServiceState', 'error')).toBe(1);
    expect(
      await sample(registry, 'tideline_stateful_operation_errors_total', {
        operation: 'setServiceState',
        kind: 'validation',
      }),
    ).toBe(1);
    expect(await registry.metrics()).not.toContain('bad ns');
  });

  it('stateful metrics - an executor from the factory with a registry reports an unreachable Redis as unavailable', async () => {
    const registry = new Registry();
    const config = loadConfig(
      { ...redisSettings, ...statefulSettings },
      {
        env: {
          TIDELINE_REDIS_URL: 'redis://127.0.0.1:1',
          TIDELINE_REDIS_CONNECT_TIMEOUT_MS: '300',
          TIDELINE_REDIS_COMMAND_TIMEOUT_MS: '300',
        },
      },
    );
    await using executor = createStatefulExecutor({ config, metrics: registry, onConnectionError: () => {} });
    await executor.connect().catch(() => undefined);
    await expect(executor.getLinkedPod(ns, 'u1', 'web')).rejects.toThrow();
    const text = await registry.metrics();
    expect(text).toMatch(
      /^tideline_stateful_operation_errors_total\{operation="getLinkedPod",kind="unavailable_[a-z]+"\} 1$/m,
    );
  });
});

import { heartbeatWithinPodStateTtl, loadConfig, redisSettings, statefulSettings } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { StatefulUnavailableError, StatefulValidationError } from './errors.ts';
import { createStatefulExecutor } from './factory.ts';
import { keys } from './keys.ts';
import { reconnectDelay } from './redis-connection.ts';
import { RedisStatefulExecutor } from './redis-executor.ts';

// Never connected: a call that passes validation fails as unavailable (offline), so a
// StatefulValidationError proves the arguments were refused before anything was sent.
const executor = new RedisStatefulExecutor({
  url: 'redis://127.0.0.1:1',
  commandTimeoutMs: 100,
  connectTimeoutMs: 100,
  reconnectBackoff: { initialMs: 10, maxMs: 100 },
});

async function refused(call: () => Promise<unknown>): Promise<string[]> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StatefulValidationError);
  return (error as StatefulValidationError).fields.map((f) => f.path);
}

const ok = { ns: 'ns', uid: 'user-1', service: 'gw', podId: 'pod-1', persistSeconds: 5 };

describe('argument validation', () => {
  it('validation - a bad namespace, uid, service, pod id or state is refused, naming the argument', async () => {
    expect(await refused(() => executor.getLinkedPod('bad ns', 'u', 'gw'))).toEqual(['ns']);
    expect(await refused(() => executor.getLinkedPod('ns:colon', 'u', 'gw'))).toEqual(['ns']);
    expect(await refused(() => executor.getLinkedPod('', 'u', 'gw'))).toEqual(['ns']);
    expect(await refused(() => executor.getLinkedPod('ns', 'u{tag}', 'gw'))).toEqual(['uid']);
    expect(await refused(() => executor.getLinkedPod('ns', 'x'.repeat(129), 'gw'))).toEqual(['uid']);
    expect(await refused(() => executor.getLinkService('ns', ''))).toEqual(['uid']);
    expect(await refused(() => executor.getLinkedPod('ns', 'u', 'g|w'))).toEqual(['service']);
    expect(await refused(() => executor.setLinkedPod({ ...ok, podId: 'pod|1' }))).toEqual(['podId']);
    expect(await refused(() => executor.trySetLinkedPod({ ...ok, podId: '' }))).toEqual(['podId']);
    expect(await refused(() => executor.setLinkedPodIfAbsent({ ...ok, podId: 'p'.repeat(254) }))).toEqual([
      'podId',
    ]);
    expect(await refused(() => executor.removeLinkedPodWithId({ ...ok, podId: 'pod 1' }))).toEqual(['podId']);
    expect(
      await refused(() =>
        executor.setServiceState({ ns: 'ns', service: 'gw', podId: 'p', state: '{"json":1}' }),
      ),
    ).toEqual(['state']);
    expect(await refused(() => executor.setWorkloadState('ns', 'gw', ''))).toEqual(['state']);
    expect(await refused(() => executor.getServiceState('ns', ''))).toEqual(['service']);
    expect(await refused(() => executor.removeServiceState('ns', 'gw', 'p|'))).toEqual(['podId']);
    expect(await refused(() => executor.getWorkloadState('ns', []))).toEqual(['services']);
    expect(await refused(() => executor.getWorkloadState('ns', ['ok', 'not ok']))).toEqual(['services.1']);
  });

  it('validation - negative, fractional or missing persist windows and TTLs are refused', async () => {
    expect(await refused(() => executor.setLinkedPod({ ...ok, persistSeconds: -1 }))).toEqual([
      'persistSeconds',
    ]);
    expect(await refused(() => executor.trySetLinkedPod({ ...ok, persistSeconds: 0.5 }))).toEqual([
      'persistSeconds',
    ]);
    expect(
      await refused(() =>
        executor.removeLinkedPod({ ns: 'ns', uid: 'u', service: 'gw', persistSeconds: -5 }),
      ),
    ).toEqual(['persistSeconds']);
    expect(await refused(() => executor.removeLinkedPodWithId({ ...ok, persistSeconds: -1 }))).toEqual([
      'persistSeconds',
    ]);
    expect(
      await refused(() => executor.setLinkedPod({ ns: 'ns', uid: 'u', service: 'gw', podId: 'p' } as never)),
    ).toEqual(['persistSeconds']);
    expect(await refused(() => executor.setLinkedPod({ ...ok, persistSeconds: 2 ** 31 }))).toEqual([
      'persistSeconds',
    ]);
    expect(
      await refused(() =>
        executor.setServiceState({ ns: 'ns', service: 'gw', podId: 'p', state: 'ready', ttlSeconds: 0 }),
      ),
    ).toEqual(['ttlSeconds']);
  });

  it('validation - several bad arguments are all named; unknown options are refused', async () => {
    expect(
      await refused(() =>
        executor.setLinkedPod({ ns: '', uid: '', service: '', podId: '', persistSeconds: -1 }),
      ),
    ).toEqual(['ns', 'uid', 'service', 'podId', 'persistSeconds']);
    expect(await refused(() => executor.setLinkedPod({ ...ok, ttl: 3 } as never))).toEqual(['']);
  });

  it('validation - computeLinkedPodIfAbsent wants a function or a non-empty set of states', async () => {
    const base = { ns: 'ns', uid: 'u', service: 'gw', persistSeconds: 1 };
    expect(
      await refused(() => executor.computeLinkedPodIfAbsent({ ...base, choose: { states: [] } })),
    ).toEqual(['choose.states']);
    expect(
      await refused(() => executor.computeLinkedPodIfAbsent({ ...base, choose: 'ready' as never })),
    ).toEqual(['choose']);
  });

  it('validation - valid arguments reach Redis (here: unavailable, as nothing is connected)', async () => {
    await expect(executor.getLinkedPod('ns', 'u', 'gw')).rejects.toBeInstanceOf(StatefulUnavailableError);
    await expect(executor.getWorkloadState('ns', ['gw'])).rejects.toBeInstanceOf(StatefulUnavailableError);
  });
});

describe('configuration', () => {
  it('reconnectDelay - doubles from the first delay and stops at the maximum', () => {
    const backoff = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 100].map((n) => reconnectDelay(n, backoff))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('createStatefulExecutor - builds an unconnected executor from the settings', async () => {
    const config = loadConfig(
      { ...redisSettings, ...statefulSettings },
      { env: { TIDELINE_REDIS_URL: 'redis://127.0.0.1:1' } },
    );
    const fromConfig = createStatefulExecutor({
      config,
      connectionName: 'test',
      onConnectionError: () => {},
    });
    expect(fromConfig.healthy()).toBe(false);
    await expect(fromConfig.getLinkedPod('ns', 'u', 'gw')).rejects.toBeInstanceOf(StatefulUnavailableError);
    await fromConfig.close();
  });

  it('heartbeatWithinPodStateTtl - a heartbeat must come at least twice per TTL', () => {
    expect(
      heartbeatWithinPodStateTtl({ statefulHeartbeatIntervalMs: 5_000, statefulPodStateTtlSeconds: 10 }),
    ).toBeUndefined();
    expect(
      heartbeatWithinPodStateTtl({ statefulHeartbeatIntervalMs: 5_001, statefulPodStateTtlSeconds: 10 })
        ?.variable,
    ).toBe('TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS');
    const defaults = loadConfig(statefulSettings, { env: {} });
    expect(heartbeatWithinPodStateTtl(defaults), 'the defaults satisfy the rule').toBeUndefined();
  });

  it('keys - every key of one uid, one service, one namespace shares a hash tag', () => {
    expect(keys.links('ns', 'u:1')).toBe('tl:{ns:uid:u:1}:links');
    expect(keys.servicePods('ns', 'gw')).toBe('tl:{ns:svc:gw}:pods');
    expect(keys.workloads('ns')).toBe('tl:{ns}:workloads');
  });
});

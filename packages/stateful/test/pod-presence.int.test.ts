import { statefulSettings } from '@tideline/config';
import { eventually, sleep } from '@tideline/test-support';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StatefulValidationError } from '../src/errors.ts';
import { PodPresence, type PodPresenceOptions } from '../src/pod-presence.ts';
import type { RedisStatefulExecutor } from '../src/redis-executor.ts';
import { adminClient, deleteNamespace, executorFor, SHARED_REDIS_URL, uniqueNs } from './fixtures.ts';

const HEARTBEAT_MS = 100;
const TTL_SECONDS = 1;
const PAST_TTL_MS = 1_400;
/** Leases of 1 s: a stall of this process cannot lapse a link between two steps of a test. */
const LEASE_HEARTBEATS = 10;

let executor: RedisStatefulExecutor;
let admin: Redis;
let ns: string;
const presences: PodPresence[] = [];

beforeAll(async () => {
  executor = executorFor(SHARED_REDIS_URL);
  await executor.connect();
  admin = adminClient(SHARED_REDIS_URL);
});

afterAll(async () => {
  await executor.close();
  admin.disconnect();
});

beforeEach(() => {
  ns = uniqueNs('presence');
});

afterEach(async () => {
  for (const presence of presences.splice(0)) await presence.stop();
  await deleteNamespace(admin, ns);
});

function presence(podId: string, overrides: Partial<PodPresenceOptions> = {}): PodPresence {
  const p = new PodPresence({
    executor,
    ns,
    service: 'push-gateway',
    podId,
    heartbeatIntervalMs: HEARTBEAT_MS,
    stateTtlSeconds: TTL_SECONDS,
    linkPersistSeconds: 1,
    leaseHeartbeats: LEASE_HEARTBEATS,
    ...overrides,
  });
  presences.push(p);
  return p;
}

const pods = () => executor.getServiceState(ns, 'push-gateway');
const linkedPod = (uid: string) => executor.getLinkedPod(ns, uid, 'push-gateway');

describe('PodPresence', () => {
  it('PodPresence - lists the pod as starting, ready, draining, and unlists it on stop', async () => {
    const pod = presence('gw-1');
    await pod.start();
    expect(await pods()).toEqual(new Map([['gw-1', 'starting']]));
    await pod.ready();
    expect(await pods()).toEqual(new Map([['gw-1', 'ready']]));
    await pod.drain();
    expect(pod.currentState).toBe('draining');
    expect(await pods()).toEqual(new Map([['gw-1', 'draining']]));
    await pod.stop();
    expect(await pods()).toEqual(new Map());
  });

  it('PodPresence - the heartbeat keeps a pod listed past its TTL; a pod whose heartbeat stops drops out', async () => {
    const alive = presence('gw-alive');
    const crashingExecutor = executorFor(SHARED_REDIS_URL);
    await crashingExecutor.connect();
    const errors: unknown[] = [];
    const doomed = new PodPresence({
      executor: crashingExecutor,
      ns,
      service: 'push-gateway',
      podId: 'gw-crashing',
      heartbeatIntervalMs: HEARTBEAT_MS,
      stateTtlSeconds: TTL_SECONDS,
      linkPersistSeconds: 1,
      leaseHeartbeats: LEASE_HEARTBEATS,
      onError: (error) => errors.push(error),
    });
    await alive.start();
    await alive.ready();
    await doomed.start();
    await doomed.ready();
    await crashingExecutor.close(); // the process "dies": its heartbeats fail from now on
    await sleep(PAST_TTL_MS);
    expect(await pods()).toEqual(new Map([['gw-alive', 'ready']]));
    expect(errors.length, 'failed heartbeats are reported').toBeGreaterThan(0);
    await doomed.stop();
  });

  it('PodPresence - a uid stays linked while any of its sockets is connected, then persists for the window', async () => {
    const pod = presence('gw-1');
    await pod.start();
    await pod.ready();
    expect(await pod.link('alice')).toEqual({ ok: true, podId: 'gw-1', tookOver: false });
    expect(await pod.link('alice')).toEqual({ ok: true, podId: 'gw-1', tookOver: false });
    expect(pod.linkedUids).toBe(1);
    expect(await pod.unlink('alice'), 'one socket left').toBe(false);
    expect(await linkedPod('alice')).toBe('gw-1');
    expect(await pod.unlink('alice'), 'the last socket left').toBe(true);
    expect(await pod.unlink('alice'), 'nothing left to release').toBe(false);
    expect(await linkedPod('alice'), 'inside the persist window').toBe('gw-1');
    await sleep(PAST_TTL_MS);
    expect(await linkedPod('alice')).toBeUndefined();
  });

  it('PodPresence - a reconnect within the window lands on the same pod; another live pod is refused', async () => {
    const one = presence('gw-1');
    const two = presence('gw-2');
    await Promise.all([one.start(), two.start()]);
    await Promise.all([one.ready(), two.ready()]);
    await one.link('bob');
    await one.unlink('bob');
    expect(await two.link('bob')).toEqual({ ok: false, podId: 'gw-1', tookOver: false });
    expect(two.linkedUids).toBe(0);
    expect(await one.link('bob')).toEqual({ ok: true, podId: 'gw-1', tookOver: false });
  });

  it('PodPresence - a link held by a pod that is gone or draining is taken over', async () => {
    const one = presence('gw-1');
    const two = presence('gw-2');
    await Promise.all([one.start(), two.start()]);
    await Promise.all([one.ready(), two.ready()]);
    await one.link('carol');
    await one.drain();
    expect(await two.link('carol')).toEqual({ ok: true, podId: 'gw-2', tookOver: true });
    expect(await linkedPod('carol')).toBe('gw-2');

    await executor.setLinkedPod({
      ns,
      uid: 'dave',
      service: 'push-gateway',
      podId: 'gw-crashed',
      persistSeconds: 30,
    });
    expect(await two.link('dave')).toEqual({ ok: true, podId: 'gw-2', tookOver: true });
  });

  it('PodPresence - while draining, a released uid is free at once so its reconnect lands elsewhere', async () => {
    const one = presence('gw-1');
    await one.start();
    await one.link('erin');
    await one.drain();
    expect(await one.unlink('erin')).toBe(true);
    expect(await linkedPod('erin')).toBeUndefined();
  });

  it('PodPresence - releasing a uid that moved to another pod leaves the new link alone', async () => {
    const one = presence('gw-1');
    await one.start();
    await one.link('frank');
    await executor.setLinkedPod({
      ns,
      uid: 'frank',
      service: 'push-gateway',
      podId: 'gw-9',
      persistSeconds: 1,
    });
    expect(await one.unlink('frank')).toBe(false);
    expect(await linkedPod('frank')).toBe('gw-9');
  });

  it('PodPresence - stop releases every uid still linked here at once', async () => {
    const one = presence('gw-1');
    await one.start();
    await one.link('gina');
    await one.link('hank');
    await one.stop();
    expect(await linkedPod('gina')).toBeUndefined();
    expect(await linkedPod('hank')).toBeUndefined();
    expect(await eventually(async () => (await pods()).size === 0, 1_000)).toBe(true);
  });

  it('PodPresence - fromConfig takes the intervals from the settings and refuses a heartbeat slower than half the TTL', async () => {
    const config = {
      statefulNamespace: ns,
      statefulConnectTimeoutMs: statefulSettings.statefulConnectTimeoutMs.default!,
      statefulReconnectBackoffMs: statefulSettings.statefulReconnectBackoffMs.default!,
      statefulReconnectBackoffMaxMs: statefulSettings.statefulReconnectBackoffMaxMs.default!,
      statefulHeartbeatIntervalMs: HEARTBEAT_MS,
      statefulPodStateTtlSeconds: TTL_SECONDS,
      statefulLinkPersistSeconds: 0,
      statefulLinkLeaseHeartbeats: LEASE_HEARTBEATS,
    };
    const pod = PodPresence.fromConfig({
      executor,
      config,
      service: 'push-gateway',
      podId: 'gw-cfg',
      onError: () => {},
    });
    presences.push(pod);
    await pod.start();
    await pod.link('ivan');
    await pod.unlink('ivan');
    expect(await linkedPod('ivan'), 'statefulLinkPersistSeconds 0: released at once').toBeUndefined();
    expect(await pods()).toEqual(new Map([['gw-cfg', 'starting']]));

    expect(() =>
      PodPresence.fromConfig({
        executor,
        config: { ...config, statefulHeartbeatIntervalMs: 600 },
        service: 'gw',
        podId: 'p',
      }),
    ).toThrow(StatefulValidationError);
    expect(() => presence('bad pod id')).toThrow(/podId/);
  });
});

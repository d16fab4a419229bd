import { createHash } from 'node:crypto';
import { sleep } from '@tideline/test-support';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StatefulChooserError, StatefulWrongTypeError } from '../src/errors.ts';
import { keys } from '../src/keys.ts';
import type { RedisStatefulExecutor } from '../src/redis-executor.ts';
import { adminClient, deleteNamespace, executorFor, SHARED_REDIS_URL, uniqueNs } from './fixtures.ts';

/** Margin past a 1 s window for the Redis clock to have moved past the deadline. */
const PAST_WINDOW_MS = 1_150;

let executor: RedisStatefulExecutor;
let admin: Redis;
let ns: string;

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
  ns = uniqueNs();
});

afterEach(async () => {
  await deleteNamespace(admin, ns);
});

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

const link = (uid: string, podId: string, persistSeconds = 1) => ({
  ns,
  uid,
  service: 'gw',
  podId,
  persistSeconds,
});

describe('service state', () => {
  it('service state - lists each registered pod with its state, the latest state winning', async () => {
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'starting' });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-b', state: 'ready' });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready' });
    await executor.setServiceState({ ns, service: 'other', podId: 'pod-z', state: 'draining' });
    expect(await executor.getServiceState(ns, 'gw')).toEqual(
      new Map([
        ['pod-a', 'ready'],
        ['pod-b', 'ready'],
      ]),
    );
    expect(await executor.getServiceState(ns, 'other')).toEqual(new Map([['pod-z', 'draining']]));
    expect(await executor.getServiceState(ns, 'nobody')).toEqual(new Map());
  });

  it('service state - a registration with a TTL disappears when not renewed, and its key with it', async () => {
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-dead', state: 'ready', ttlSeconds: 1 });
    await executor.setServiceState({
      ns,
      service: 'gw',
      podId: 'pod-beating',
      state: 'ready',
      ttlSeconds: 3,
    });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-static', state: 'ready' });
    await sleep(PAST_WINDOW_MS);
    await executor.setServiceState({
      ns,
      service: 'gw',
      podId: 'pod-beating',
      state: 'ready',
      ttlSeconds: 3,
    });
    expect([...(await executor.getServiceState(ns, 'gw')).keys()].sort()).toEqual([
      'pod-beating',
      'pod-static',
    ]);
    expect(
      await admin.hexists(keys.servicePods(ns, 'gw'), 'pod-dead'),
      'expired entries are pruned on write',
    ).toBe(0);
    expect(await admin.pttl(keys.servicePods(ns, 'gw')), 'a key with a permanent entry never expires').toBe(
      -1,
    );

    expect(await executor.removeServiceState(ns, 'gw', 'pod-static')).toBe(true);
    const ttl = await admin.pttl(keys.servicePods(ns, 'gw'));
    expect(ttl, 'only TTL entries left: the key expires with the last of them').toBeGreaterThan(1_500);
    expect(ttl).toBeLessThanOrEqual(3_000);
  });

  it('service state - removeServiceState answers whether the pod was registered', async () => {
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready' });
    expect(await executor.removeServiceState(ns, 'gw', 'pod-a')).toBe(true);
    expect(await executor.removeServiceState(ns, 'gw', 'pod-a')).toBe(false);
    expect(await executor.getServiceState(ns, 'gw')).toEqual(new Map());
    expect(await admin.exists(keys.servicePods(ns, 'gw'))).toBe(0);
  });

  it('service state - an expired registration does not count as removed', async () => {
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready', ttlSeconds: 1 });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-b', state: 'ready' });
    await sleep(PAST_WINDOW_MS);
    expect(await executor.removeServiceState(ns, 'gw', 'pod-a')).toBe(false);
  });
});

describe('workload state', () => {
  it('workload state - reads the states of several services at once, leaving out those without one', async () => {
    await executor.setWorkloadState(ns, 'gw', 'rolling-out');
    await executor.setWorkloadState(ns, 'cache', 'steady');
    await executor.setWorkloadState(ns, 'gw', 'steady');
    expect(await executor.getWorkloadState(ns, ['gw', 'cache', 'informer'])).toEqual(
      new Map([
        ['gw', 'steady'],
        ['cache', 'steady'],
      ]),
    );
    expect(await executor.getWorkloadState(uniqueNs(), ['gw'])).toEqual(new Map());
  });
});

describe('links', () => {
  it('setLinkedPod - links and replaces, answering the pod now linked', async () => {
    expect(await executor.setLinkedPod(link('u1', 'pod-a'))).toBe('pod-a');
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-a');
    expect(await executor.setLinkedPod(link('u1', 'pod-b'))).toBe('pod-b');
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-b');
    expect(await executor.getLinkedPod(ns, 'u1', 'cache')).toBeUndefined();
    expect(await executor.getLinkedPod(ns, 'u2', 'gw')).toBeUndefined();
    expect(await admin.pttl(keys.links(ns, 'u1')), 'a live link has no expiry').toBe(-1);
  });

  it('trySetLinkedPod - links only when absent; otherwise answers the current pod', async () => {
    expect(await executor.trySetLinkedPod(link('u1', 'pod-a'))).toEqual({ ok: true, podId: 'pod-a' });
    expect(await executor.trySetLinkedPod(link('u1', 'pod-b'))).toEqual({ ok: false, podId: 'pod-a' });
    expect(await executor.trySetLinkedPod(link('u1', 'pod-a')), 'the holder itself may link again').toEqual({
      ok: true,
      podId: 'pod-a',
    });
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-a');
  });

  it('trySetLinkedPod - of 100 concurrent callers for one uid exactly one wins and all losers see its pod', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => executor.trySetLinkedPod(link('race', `pod-${i}`))),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.podId;
    expect(results.every((r) => r.podId === winner)).toBe(true);
    expect(await executor.getLinkedPod(ns, 'race', 'gw')).toBe(winner);
  });

  it('setLinkedPodIfAbsent - answers the pod linked after the call', async () => {
    expect(await executor.setLinkedPodIfAbsent(link('u1', 'pod-a'))).toBe('pod-a');
    expect(await executor.setLinkedPodIfAbsent(link('u1', 'pod-b'))).toBe('pod-a');
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-a');
  });

  it('getLinkService - lists live and persisting links of a uid, not expired ones', async () => {
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'gw', podId: 'pod-a', persistSeconds: 0 });
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'cache', podId: 'pod-c', persistSeconds: 0 });
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'short', podId: 'pod-s', persistSeconds: 0 });
    await executor.setLinkedPod({ ns, uid: 'u2', service: 'gw', podId: 'pod-x', persistSeconds: 0 });
    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'cache', persistSeconds: 30 });
    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'short', persistSeconds: 1 });
    expect(await executor.getLinkService(ns, 'u1')).toEqual(
      new Map([
        ['gw', 'pod-a'],
        ['cache', 'pod-c'],
        ['short', 'pod-s'],
      ]),
    );
    await sleep(PAST_WINDOW_MS);
    expect(await executor.getLinkService(ns, 'u1')).toEqual(
      new Map([
        ['gw', 'pod-a'],
        ['cache', 'pod-c'],
      ]),
    );
    expect(await executor.getLinkService(ns, 'nobody')).toEqual(new Map());
  });
});

describe('persist window', () => {
  it('removeLinkedPod - the link persists for the window, refusing other pods, then is gone', async () => {
    await executor.setLinkedPod(link('u1', 'pod-a'));
    expect(await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 1 })).toBe(true);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-a');
    expect(await executor.trySetLinkedPod(link('u1', 'pod-b'))).toEqual({ ok: false, podId: 'pod-a' });
    const ttl = await admin.pttl(keys.links(ns, 'u1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000);

    await sleep(PAST_WINDOW_MS);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
    expect(await admin.exists(keys.links(ns, 'u1')), 'the key expired with its last link').toBe(0);
    expect(await executor.trySetLinkedPod(link('u1', 'pod-b'))).toEqual({ ok: true, podId: 'pod-b' });
  });

  it('removeLinkedPod - a reconnect to the same pod within the window makes the link live again', async () => {
    await executor.setLinkedPod(link('u1', 'pod-a'));
    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 1 });
    expect(await executor.trySetLinkedPod(link('u1', 'pod-a'))).toEqual({ ok: true, podId: 'pod-a' });
    await sleep(PAST_WINDOW_MS);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-a');
    expect(await admin.pttl(keys.links(ns, 'u1'))).toBe(-1);
  });

  it('removeLinkedPod - a window of 0 removes at once; nothing to remove answers false', async () => {
    await executor.setLinkedPod(link('u1', 'pod-a'));
    expect(await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 0 })).toBe(true);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
    expect(await admin.exists(keys.links(ns, 'u1'))).toBe(0);
    expect(await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 0 })).toBe(false);
  });

  it('removeLinkedPod - a window is never extended, but a persisting link can be removed at once', async () => {
    await executor.setLinkedPod(link('u1', 'pod-a'));
    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 1 });
    expect(await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 60 })).toBe(false);
    expect(await admin.pttl(keys.links(ns, 'u1'))).toBeLessThanOrEqual(1_000);
    expect(await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 0 })).toBe(true);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
  });

  it('removeLinkedPod - a live link next to a persisting one keeps the key from expiring', async () => {
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'gw', podId: 'pod-a', persistSeconds: 1 });
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'cache', podId: 'pod-c', persistSeconds: 1 });
    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 1 });
    expect(await admin.pttl(keys.links(ns, 'u1'))).toBe(-1);
    await sleep(PAST_WINDOW_MS);
    expect(await executor.getLinkService(ns, 'u1')).toEqual(new Map([['cache', 'pod-c']]));
  });

  it('removeLinkedPodWithId - with a stale pod id it is a no-op', async () => {
    await executor.setLinkedPod(link('u1', 'pod-a'));
    await executor.setLinkedPod(link('u1', 'pod-b'));
    expect(
      await executor.removeLinkedPodWithId({
        ns,
        uid: 'u1',
        service: 'gw',
        podId: 'pod-a',
        persistSeconds: 0,
      }),
    ).toBe(false);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe('pod-b');
    expect(await admin.pttl(keys.links(ns, 'u1')), 'still live').toBe(-1);
    expect(await executor.removeLinkedPodWithId({ ns, uid: 'nobody', service: 'gw', podId: 'pod-a' })).toBe(
      false,
    );
  });

  it('removeLinkedPodWithId - uses the window recorded with the link unless one is given', async () => {
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'gw', podId: 'pod-a', persistSeconds: 1 });
    await executor.setLinkedPod({ ns, uid: 'u2', service: 'gw', podId: 'pod-a', persistSeconds: 1 });
    expect(await executor.removeLinkedPodWithId({ ns, uid: 'u1', service: 'gw', podId: 'pod-a' })).toBe(true);
    expect(
      await executor.removeLinkedPodWithId({
        ns,
        uid: 'u2',
        service: 'gw',
        podId: 'pod-a',
        persistSeconds: 0,
      }),
    ).toBe(true);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw'), 'persisting with the recorded 1 s').toBe('pod-a');
    expect(await executor.getLinkedPod(ns, 'u2', 'gw'), 'removed at once').toBeUndefined();
    await sleep(PAST_WINDOW_MS);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
  });

  it('removeLinkedPodWithId - an expired link is not removed again', async () => {
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'gw', podId: 'pod-a', persistSeconds: 1 });
    await executor.setLinkedPod({ ns, uid: 'u1', service: 'keep', podId: 'pod-k', persistSeconds: 1 });
    await executor.removeLinkedPodWithId({ ns, uid: 'u1', service: 'gw', podId: 'pod-a' });
    await sleep(PAST_WINDOW_MS);
    expect(
      await executor.removeLinkedPodWithId({
        ns,
        uid: 'u1',
        service: 'gw',
        podId: 'pod-a',
        persistSeconds: 0,
      }),
    ).toBe(false);
    expect(await admin.hexists(keys.links(ns, 'u1'), 'gw'), 'pruned by the write').toBe(0);
  });
});

describe('computeLinkedPodIfAbsent', () => {
  const ready = { states: ['ready'] };

  beforeEach(async () => {
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready' });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-b', state: 'ready' });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-c', state: 'draining' });
    await executor.setServiceState({ ns, service: 'gw', podId: 'pod-d', state: 'starting' });
  });

  /** The pod rendezvous hashing gives `uid` among `among`: the highest sha1(uid|podId). */
  const rendezvous = (uid: string, among: readonly string[]) =>
    among.reduce((best, pod) => (sha1(`${uid}|${pod}`) > sha1(`${uid}|${best}`) ? pod : best));

  /** The EVALSHA commands clients (not scripts) send for namespace `ns` while `work` runs. */
  const evalshasDuring = async (work: () => Promise<unknown>): Promise<string[][]> => {
    const monitor = await admin.duplicate().monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args[0]?.toLowerCase() === 'evalsha' && args.some((arg) => arg.includes(ns)))
        seen.push(args);
    });
    try {
      await work();
      // The marker's reply arrives after MONITOR relayed every earlier command of this namespace.
      await executor.getServiceState(ns, 'marker');
      await sleep(50);
    } finally {
      monitor.disconnect();
    }
    return seen.filter((args) => !args.some((arg) => arg.includes('marker')));
  };

  const compute = (
    uid: string,
    choose: Parameters<RedisStatefulExecutor['computeLinkedPodIfAbsent']>[0]['choose'],
  ) => executor.computeLinkedPodIfAbsent({ ns, uid, service: 'gw', choose, persistSeconds: 1 });

  it('computeLinkedPodIfAbsent - a state chooser links a pod in an allowed state, the same one for the same uid', async () => {
    const first = await compute('u1', ready);
    expect(first?.created).toBe(true);
    expect(['pod-a', 'pod-b']).toContain(first?.podId);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBe(first?.podId);
    expect(await compute('u1', ready), 'an existing link is answered as is').toEqual({
      podId: first?.podId,
      created: false,
    });

    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 0 });
    expect(await compute('u1', ready), 'deterministic: same uid, same pods, same choice').toEqual({
      podId: first?.podId,
      created: true,
    });
  });

  it('computeLinkedPodIfAbsent - a state chooser spreads uids over every allowed pod and never picks another state', async () => {
    const chosen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const result = await compute(`spread-${i}`, { states: ['ready', 'starting'] });
      chosen.add(result!.podId);
    }
    expect([...chosen].sort()).toEqual(['pod-a', 'pod-b', 'pod-d']);
  });

  it('computeLinkedPodIfAbsent - no pod in an allowed state: undefined and nothing linked', async () => {
    expect(await compute('u1', { states: ['unknown-state'] })).toBeUndefined();
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
  });

  it('computeLinkedPodIfAbsent - pods whose registration expired are not candidates', async () => {
    const other = 'other';
    await executor.setServiceState({ ns, service: other, podId: 'pod-gone', state: 'ready', ttlSeconds: 1 });
    await sleep(PAST_WINDOW_MS);
    expect(
      await executor.computeLinkedPodIfAbsent({
        ns,
        uid: 'u1',
        service: other,
        choose: ready,
        persistSeconds: 1,
      }),
    ).toBe(undefined);
    const seen: string[][] = [];
    await executor.computeLinkedPodIfAbsent({
      ns,
      uid: 'u1',
      service: other,
      persistSeconds: 1,
      choose: (pods) => {
        seen.push([...pods.keys()]);
        return undefined;
      },
    });
    expect(seen).toEqual([[]]);
  });

  it('computeLinkedPodIfAbsent - a function chooser sees the live pods with their states and its pick is linked', async () => {
    let given: ReadonlyMap<string, string> | undefined;
    const result = await compute('u1', (pods, uid) => {
      given = pods;
      expect(uid).toBe('u1');
      return [...pods].find(([, state]) => state === 'draining')?.[0];
    });
    expect(given).toEqual(
      new Map([
        ['pod-a', 'ready'],
        ['pod-b', 'ready'],
        ['pod-c', 'draining'],
        ['pod-d', 'starting'],
      ]),
    );
    expect(result).toEqual({ podId: 'pod-c', created: true });
    expect(await compute('u2', async () => undefined)).toBeUndefined();
  });

  it('computeLinkedPodIfAbsent - a function chooser returning a pod it was not given is an error', async () => {
    await expect(compute('u1', () => 'pod-unknown')).rejects.toBeInstanceOf(StatefulChooserError);
    expect(await executor.getLinkedPod(ns, 'u1', 'gw')).toBeUndefined();
  });

  it('computeLinkedPodIfAbsent - concurrent callers choosing differently all end up with one pod, created once', async () => {
    const pods = ['pod-a', 'pod-b', 'pod-c', 'pod-d'];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => compute('race', () => pods[i % pods.length])),
    );
    expect(results.filter((r) => r?.created)).toHaveLength(1);
    const winner = results.find((r) => r?.created)!.podId;
    expect(results.every((r) => r?.podId === winner)).toBe(true);
    expect(await executor.getLinkedPod(ns, 'race', 'gw')).toBe(winner);
  });

  it('computeLinkedPodIfAbsent - concurrent state choosers pick the same pod and exactly one creates the link', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => compute('race2', ready)));
    expect(results.filter((r) => r?.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r?.podId)).size).toBe(1);
  });

  it('computeLinkedPodIfAbsent - concurrent callers on several connections, state and function choosers mixed, all get the one pod created once', async () => {
    const others = [executorFor(SHARED_REDIS_URL), executorFor(SHARED_REDIS_URL)];
    try {
      await Promise.all(others.map((o) => o.connect()));
      const callers = [executor, ...others];
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) =>
          callers[i % callers.length]!.computeLinkedPodIfAbsent({
            ns,
            uid: 'race3',
            service: 'gw',
            persistSeconds: 1,
            choose: i % 2 === 0 ? ready : () => (i % 3 === 0 ? 'pod-c' : 'pod-d'),
          }),
        ),
      );
      expect(results.filter((r) => r?.created)).toHaveLength(1);
      const winner = results.find((r) => r?.created)!.podId;
      expect(results.every((r) => r?.podId === winner)).toBe(true);
      expect(await executor.getLinkedPod(ns, 'race3', 'gw')).toBe(winner);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it('computeLinkedPodIfAbsent - a state chooser reads, picks and links in one command', async () => {
    const monitor = await admin.duplicate().monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands a script runs are relayed too, marked as coming from `lua`: only the client's count.
      if (source !== 'lua' && args.some((arg) => arg.includes(ns))) seen.push(args);
    });
    try {
      const created = await compute('one-trip', ready);
      const existing = await compute('one-trip', ready);
      expect(created?.created).toBe(true);
      expect(existing).toEqual({ podId: created?.podId, created: false });
      // The marker's reply arrives after MONITOR relayed every earlier command of this namespace.
      await executor.getServiceState(ns, 'marker');
      await sleep(50);
    } finally {
      monitor.disconnect();
    }
    const ours = seen.filter((args) => args.some((arg) => arg.includes('one-trip')));
    expect(ours.map((args) => args[0]?.toLowerCase())).toEqual(['evalsha', 'evalsha']);
  });

  it('computeLinkedPodIfAbsent - a pod taken out of the allowed states is not linked again, another allowed pod is', async () => {
    for (let i = 0; i < 10; i++) {
      const uid = `flip-${i}`;
      const first = await compute(uid, ready);
      await executor.removeLinkedPod({ ns, uid, service: 'gw', persistSeconds: 0 });
      await executor.setServiceState({ ns, service: 'gw', podId: first!.podId, state: 'draining' });
      const second = await compute(uid, ready);
      expect(second?.created).toBe(true);
      expect(second?.podId).not.toBe(first?.podId);
      expect(['pod-a', 'pod-b']).toContain(second?.podId);
      await executor.setServiceState({ ns, service: 'gw', podId: first!.podId, state: 'ready' });
    }
  });

  it('computeLinkedPodIfAbsent - a state chooser picks the highest sha1(uid|podId), spreads uids evenly, and a pod leaving moves only its uids', async () => {
    const pods = Array.from({ length: 8 }, (_, p) => `gw-7d9f8c6b5-x2k4${p}`);
    for (const podId of pods) await executor.setServiceState({ ns, service: 'many', podId, state: 'ready' });
    const uids = Array.from({ length: 800 }, (_, i) => `spread-${i}`);
    const pick = (uid: string, service: string) =>
      executor.computeLinkedPodIfAbsent({
        ns,
        uid,
        service,
        choose: { states: ['ready'] },
        persistSeconds: 0,
      });
    const before = new Map<string, string>();
    for (const uid of uids) before.set(uid, (await pick(uid, 'many'))!.podId);
    expect([...before].filter(([uid, pod]) => pod !== rendezvous(uid, pods))).toEqual([]);
    const perPod = new Map(pods.map((pod) => [pod, [...before.values()].filter((p) => p === pod).length]));
    // 100 expected per pod; the counts are fixed by sha1, the bounds are ±4 standard deviations.
    for (const [pod, count] of perPod) expect(count, pod).toBeGreaterThanOrEqual(62);
    for (const [pod, count] of perPod) expect(count, pod).toBeLessThanOrEqual(138);

    const leaving = pods[3]!;
    await executor.removeServiceState(ns, 'many', leaving);
    for (const uid of uids) await executor.removeLinkedPod({ ns, uid, service: 'many', persistSeconds: 0 });
    for (const uid of uids) {
      const after = (await pick(uid, 'many'))!.podId;
      if (before.get(uid) === leaving) expect(after).not.toBe(leaving);
      else expect(after, uid).toBe(before.get(uid));
    }
  });

  it('computeLinkedPodIfAbsent - a link or pod value not in the executor format is a typed error naming its key', async () => {
    await admin.hset(keys.links(ns, 'bad-link'), 'gw', 'written-by-someone-else');
    await expect(compute('bad-link', ready)).rejects.toMatchObject({
      name: 'StatefulWrongTypeError',
      key: keys.links(ns, 'bad-link'),
    });
    await expect(compute('bad-link', () => 'pod-a')).rejects.toBeInstanceOf(StatefulWrongTypeError);

    await admin.hset(keys.links(ns, 'bad-other'), 'other', 'no-deadline');
    await expect(compute('bad-other', ready), 'pruning the other links reads them too').rejects.toMatchObject(
      {
        name: 'StatefulWrongTypeError',
        key: keys.links(ns, 'bad-other'),
      },
    );
    expect((await admin.hgetall(keys.links(ns, 'bad-other')))['other'], 'left as it was').toBe('no-deadline');

    await admin.hset(keys.servicePods(ns, 'gw'), 'pod-z', 'no-deadline');
    for (const choose of [ready, () => 'pod-a'] as const)
      await expect(compute('u1', choose)).rejects.toMatchObject({
        name: 'StatefulWrongTypeError',
        key: keys.servicePods(ns, 'gw'),
      });
    expect(await admin.exists(keys.links(ns, 'u1'))).toBe(0);
  });

  it("computeLinkedPodIfAbsent - linking drops the uid's expired links and gives the key the expiry of its longest-lived one", async () => {
    const key = keys.links(ns, 'tidy');
    await executor.setLinkedPod({ ...link('tidy', 'pod-x'), service: 'gone' });
    await executor.removeLinkedPod({ ns, uid: 'tidy', service: 'gone', persistSeconds: 1 });
    await executor.setLinkedPod({ ...link('tidy', 'pod-y'), service: 'stays', leaseMs: 60_000 });
    await sleep(PAST_WINDOW_MS);
    const leased = await executor.computeLinkedPodIfAbsent({
      ns,
      uid: 'tidy',
      service: 'gw',
      choose: ready,
      persistSeconds: 1,
      leaseMs: 120_000,
    });
    expect(leased?.created).toBe(true);
    expect(Object.keys(await admin.hgetall(key)).sort(), 'the expired link is dropped').toEqual([
      'gw',
      'stays',
    ]);
    const pttl = await admin.pttl(key);
    expect(pttl, 'the key lives as long as its leased link of 120 s').toBeGreaterThan(60_000);
    expect(pttl).toBeLessThanOrEqual(120_000);

    expect(await compute('forever', ready)).toMatchObject({ created: true });
    expect(await admin.pttl(keys.links(ns, 'forever')), 'a link without a lease: no expiry').toBe(-1);
    await executor.setLinkedPod({ ...link('mixed', 'pod-y'), service: 'stays' });
    await executor.computeLinkedPodIfAbsent({
      ns,
      uid: 'mixed',
      service: 'gw',
      choose: ready,
      persistSeconds: 1,
      leaseMs: 60_000,
    });
    expect(await admin.pttl(keys.links(ns, 'mixed')), 'a link without expiry keeps the key').toBe(-1);
  });

  it('computeLinkedPodIfAbsent - state-chooser calls of one turn are linked by one script call, each answered as if alone', async () => {
    await executor.setLinkedPod(link('has-link', 'pod-c'));
    const uids = [...Array.from({ length: 30 }, (_, i) => `burst-${i}`), 'has-link', 'burst-3'];
    let results: Awaited<ReturnType<typeof compute>>[] = [];
    const sent = await evalshasDuring(async () => {
      results = await Promise.all(uids.map((uid) => compute(uid, ready)));
    });
    expect(sent, 'one EVALSHA for the whole turn').toHaveLength(1);
    expect(results.slice(0, 30)).toEqual(
      uids.slice(0, 30).map((uid) => ({ podId: rendezvous(uid, ['pod-a', 'pod-b']), created: true })),
    );
    expect(results[30], 'an existing link is answered as is').toEqual({ podId: 'pod-c', created: false });
    expect(results[31], 'a uid twice in one batch: created once').toEqual({
      podId: results[3]?.podId,
      created: false,
    });
    for (const uid of uids.slice(0, 30))
      expect(await executor.getLinkedPod(ns, uid, 'gw')).toBe(rendezvous(uid, ['pod-a', 'pod-b']));
  });

  it('computeLinkedPodIfAbsent - a batch holds at most computeBatchMax uids; calls of other services or states go apart', async () => {
    await using small = executorFor(SHARED_REDIS_URL, { computeBatchMax: 3 });
    await small.connect();
    await executor.setServiceState({ ns, service: 'other', podId: 'pod-o', state: 'ready' });
    const call = (uid: string, service: string, states: string[]) =>
      small.computeLinkedPodIfAbsent({ ns, uid, service, choose: { states }, persistSeconds: 1 });
    let results: Awaited<ReturnType<typeof call>>[] = [];
    const sent = await evalshasDuring(async () => {
      results = await Promise.all([
        ...Array.from({ length: 7 }, (_, i) => call(`cap-${i}`, 'gw', ['ready'])),
        call('cap-other', 'other', ['ready']),
        call('cap-starting', 'gw', ['starting']),
      ]);
    });
    // KEYS: the pods key, then one links key per uid.
    expect(sent.map((args) => Number(args[2]) - 1).sort()).toEqual([1, 1, 1, 3, 3]);
    expect(results.slice(0, 7).map((r) => r?.podId)).toEqual(
      Array.from({ length: 7 }, (_, i) => rendezvous(`cap-${i}`, ['pod-a', 'pod-b'])),
    );
    expect(results.slice(7)).toEqual([
      { podId: 'pod-o', created: true },
      { podId: 'pod-d', created: true },
    ]);
  });

  it('computeLinkedPodIfAbsent - a uid failing in a batch fails its own call only, naming its key', async () => {
    await admin.set(keys.links(ns, 'broken'), 'not-a-hash');
    const results = await Promise.allSettled(
      ['fine-1', 'broken', 'fine-2'].map((uid) => compute(uid, ready)),
    );
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { created: true } });
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: { created: true } });
    expect(results[1]).toMatchObject({ status: 'rejected' });
    const error = (results[1] as PromiseRejectedResult).reason as StatefulWrongTypeError;
    expect(error).toBeInstanceOf(StatefulWrongTypeError);
    expect(error.key).toBe(keys.links(ns, 'broken'));
    expect(await admin.get(keys.links(ns, 'broken'))).toBe('not-a-hash');
  });

  it('computeLinkedPodIfAbsent - a persisting link counts as present', async () => {
    await executor.setLinkedPod(link('u1', 'pod-c'));
    await executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 30 });
    expect(await compute('u1', ready)).toEqual({ podId: 'pod-c', created: false });
  });
});

describe('wrong types', () => {
  it('WRONGTYPE - a key of another type gives a typed error for every kind of call, and is left untouched', async () => {
    await admin.set(keys.links(ns, 'u1'), 'not-a-hash');
    await admin.set(keys.servicePods(ns, 'gw'), 'not-a-hash');
    await admin.set(keys.workloads(ns), 'not-a-hash');
    const calls: Array<() => Promise<unknown>> = [
      () => executor.setLinkedPod(link('u1', 'pod-a')),
      () => executor.trySetLinkedPod(link('u1', 'pod-a')),
      () => executor.getLinkedPod(ns, 'u1', 'gw'),
      () => executor.getLinkService(ns, 'u1'),
      () => executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 1 }),
      () => executor.setServiceState({ ns, service: 'gw', podId: 'pod-a', state: 'ready' }),
      () => executor.getServiceState(ns, 'gw'),
      () => executor.removeServiceState(ns, 'gw', 'pod-a'),
      () =>
        executor.computeLinkedPodIfAbsent({
          ns,
          uid: 'u2',
          service: 'gw',
          choose: { states: ['ready'] },
          persistSeconds: 1,
        }),
      () => executor.setWorkloadState(ns, 'gw', 'steady'),
      () => executor.getWorkloadState(ns, ['gw']),
    ];
    for (const call of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StatefulWrongTypeError);
      expect((error as StatefulWrongTypeError).code).toBe('INTERNAL');
    }
    await expect(executor.getLinkedPod(ns, 'u1', 'gw')).rejects.toMatchObject({ key: keys.links(ns, 'u1') });
    await expect(
      executor.computeLinkedPodIfAbsent({
        ns,
        uid: 'u2',
        service: 'gw',
        choose: { states: ['ready'] },
        persistSeconds: 1,
      }),
      'the script reads the links and the pods: it names the pods key',
    ).rejects.toMatchObject({ key: keys.servicePods(ns, 'gw') });
    await expect(
      executor.computeLinkedPodIfAbsent({
        ns,
        uid: 'u1',
        service: 'gw',
        choose: () => 'pod-a',
        persistSeconds: 1,
      }),
    ).rejects.toMatchObject({ key: keys.links(ns, 'u1') });
    expect(await admin.get(keys.links(ns, 'u1'))).toBe('not-a-hash');
  });

  it('WRONGTYPE - a hash field not in the executor format is a typed error too', async () => {
    await admin.hset(keys.links(ns, 'u1'), 'gw', 'written-by-someone-else');
    await admin.hset(keys.servicePods(ns, 'gw'), 'pod-a', 'no-deadline');
    await expect(executor.getLinkedPod(ns, 'u1', 'gw')).rejects.toBeInstanceOf(StatefulWrongTypeError);
    await expect(
      executor.removeLinkedPod({ ns, uid: 'u1', service: 'gw', persistSeconds: 1 }),
    ).rejects.toBeInstanceOf(StatefulWrongTypeError);
    await expect(executor.getServiceState(ns, 'gw')).rejects.toBeInstanceOf(StatefulWrongTypeError);
  });
});

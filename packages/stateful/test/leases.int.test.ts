import { eventually } from '@tideline/test-support';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StatefulValidationError, StatefulWrongTypeError } from '../src/errors.ts';
import { keys } from '../src/keys.ts';
import { PodPresence } from '../src/pod-presence.ts';
import type { RedisStatefulExecutor } from '../src/redis-executor.ts';
import { adminClient, deleteNamespace, executorFor, SHARED_REDIS_URL, uniqueNs } from './fixtures.ts';

/** A lease no test outlives: what must stay live stays live however slow the machine is. */
const LONG_LEASE_MS = 60_000;
/**
 * A lease tests wait out (by polling, never by a fixed sleep); long enough that a stall of this
 * process between two adjacent steps does not lapse it before the test looked.
 */
const SHORT_LEASE_MS = 1_000;
/** How long a poll for "gone" may take beyond the bound it checks: generous, for a busy machine. */
const SLACK_MS = 10_000;

let executor: RedisStatefulExecutor;
let admin: Redis;
let ns: string;
const others: RedisStatefulExecutor[] = [];
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
  ns = uniqueNs('lease');
});

afterEach(async () => {
  for (const presence of presences.splice(0)) await presence.stop();
  for (const other of others.splice(0)) await other.close();
  await deleteNamespace(admin, ns);
});

async function connectedExecutor(): Promise<RedisStatefulExecutor> {
  const other = executorFor(SHARED_REDIS_URL);
  await other.connect();
  others.push(other);
  return other;
}

const link = (uid: string, podId: string, leaseMs: number) => ({
  ns,
  uid,
  service: 'gw',
  podId,
  persistSeconds: 1,
  leaseMs,
});

const conn = (uid: string, podId: string, connectionId: string, max: number, leaseMs = LONG_LEASE_MS) => ({
  ns,
  uid,
  podId,
  connectionId,
  max,
  leaseMs,
});

/** The deadline (Unix ms of the Redis clock) stored with the link of `uid`. */
async function linkDeadline(uid: string): Promise<number> {
  const value = await admin.hget(keys.links(ns, uid), 'gw');
  if (value === null) throw new Error(`no link of ${uid}`);
  return Number(value.split('|').at(-1));
}

async function redisNowMs(): Promise<number> {
  const [seconds, micros] = await admin.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

async function gone(check: () => Promise<boolean>, boundMs: number): Promise<boolean> {
  return eventually(check, boundMs + SLACK_MS, 25);
}

describe('leased links', () => {
  it('leases - a leased link that nobody renews is gone after its lease, and its key with it', async () => {
    expect(await executor.trySetLinkedPod(link('ann', 'pod-dead', SHORT_LEASE_MS))).toEqual({
      ok: true,
      podId: 'pod-dead',
    });
    expect(await admin.pttl(keys.links(ns, 'ann')), 'the key carries the lease').toBeGreaterThan(0);
    const expired = await gone(
      async () =>
        (await executor.getLinkedPod(ns, 'ann', 'gw')) === undefined &&
        (await admin.exists(keys.links(ns, 'ann'))) === 0,
      SHORT_LEASE_MS,
    );
    expect(expired, 'link and key gone once the lease ran out').toBe(true);
    // An expired lease is no link: another pod links the uid.
    expect(await executor.trySetLinkedPod(link('ann', 'pod-b', LONG_LEASE_MS))).toEqual({
      ok: true,
      podId: 'pod-b',
    });
  });

  it('leases - a link without a lease keeps the old contract: live until removed', async () => {
    await executor.setLinkedPod({ ns, uid: 'old', service: 'gw', podId: 'pod-a', persistSeconds: 1 });
    expect(await admin.pttl(keys.links(ns, 'old'))).toBe(-1);
    expect(await linkDeadline('old')).toBe(0);
  });

  it('leases - renewLeases pushes out the lease of its own live link and restores an expired one', async () => {
    await executor.setLinkedPod(link('bea', 'pod-a', 1_000));
    const before = await linkDeadline('bea');
    const now = await redisNowMs();
    expect(
      await executor.renewLeases({
        ns,
        uid: 'bea',
        podId: 'pod-a',
        leaseMs: LONG_LEASE_MS,
        link: { service: 'gw', persistSeconds: 1 },
        connectionIds: [],
      }),
    ).toEqual({ linked: true, connections: 0 });
    expect(await linkDeadline('bea')).toBeGreaterThanOrEqual(now + LONG_LEASE_MS);
    expect(await linkDeadline('bea')).toBeGreaterThan(before);

    // Expired (the pod could not reach Redis for a whole lease) but still serving: restored.
    await executor.setLinkedPod(link('cid', 'pod-a', SHORT_LEASE_MS));
    expect(
      await gone(async () => (await executor.getLinkedPod(ns, 'cid', 'gw')) === undefined, SHORT_LEASE_MS),
    ).toBe(true);
    const renewed = await executor.renewLeases({
      ns,
      uid: 'cid',
      podId: 'pod-a',
      leaseMs: LONG_LEASE_MS,
      link: { service: 'gw', persistSeconds: 1 },
      connectionIds: [],
    });
    expect(renewed.linked).toBe(true);
    expect(await executor.getLinkedPod(ns, 'cid', 'gw')).toBe('pod-a');
  });

  it("leases - renewLeases leaves another pod's link and a persisting link alone", async () => {
    await executor.setLinkedPod(link('dan', 'pod-b', LONG_LEASE_MS));
    const renew = (uid: string) =>
      executor.renewLeases({
        ns,
        uid,
        podId: 'pod-a',
        leaseMs: LONG_LEASE_MS,
        link: { service: 'gw', persistSeconds: 1 },
        connectionIds: [],
      });
    expect(await renew('dan')).toEqual({ linked: false, connections: 0 });
    expect(await executor.getLinkedPod(ns, 'dan', 'gw')).toBe('pod-b');

    await executor.setLinkedPod(link('eve', 'pod-a', LONG_LEASE_MS));
    expect(
      await executor.removeLinkedPodWithId({
        ns,
        uid: 'eve',
        service: 'gw',
        podId: 'pod-a',
        persistSeconds: 30,
      }),
    ).toBe(true);
    const persistingUntil = await linkDeadline('eve');
    expect(await renew('eve')).toEqual({ linked: false, connections: 0 });
    expect(await linkDeadline('eve'), 'a persist window is not turned back into a lease').toBe(
      persistingUntil,
    );
  });

  it('leases - a leased link is released into its persist window like a live one', async () => {
    await executor.trySetLinkedPod(link('fay', 'pod-a', LONG_LEASE_MS));
    expect(await executor.trySetLinkedPod(link('fay', 'pod-b', LONG_LEASE_MS))).toEqual({
      ok: false,
      podId: 'pod-a',
    });
    expect(await executor.removeLinkedPod({ ns, uid: 'fay', service: 'gw', persistSeconds: 30 })).toBe(true);
    expect(await executor.getLinkedPod(ns, 'fay', 'gw'), 'persisting').toBe('pod-a');
    expect(
      await executor.removeLinkedPod({ ns, uid: 'fay', service: 'gw', persistSeconds: 30 }),
      'a window is never extended',
    ).toBe(false);
    expect(await executor.trySetLinkedPod(link('fay', 'pod-a', LONG_LEASE_MS)), 'reclaimed').toEqual({
      ok: true,
      podId: 'pod-a',
    });
    expect(await executor.removeLinkedPod({ ns, uid: 'fay', service: 'gw', persistSeconds: 0 })).toBe(true);
    expect(await executor.getLinkedPod(ns, 'fay', 'gw')).toBeUndefined();
  });

  it('leases - links stored by an older version (three fields) are still read and released', async () => {
    await admin.hset(keys.links(ns, 'gus'), 'gw', 'pod-old|1000|0');
    expect(await executor.getLinkedPod(ns, 'gus', 'gw')).toBe('pod-old');
    expect(await executor.trySetLinkedPod(link('gus', 'pod-b', LONG_LEASE_MS))).toEqual({
      ok: false,
      podId: 'pod-old',
    });
    expect(
      await executor.removeLinkedPodWithId({
        ns,
        uid: 'gus',
        service: 'gw',
        podId: 'pod-old',
        persistSeconds: 0,
      }),
    ).toBe(true);
    await admin.hset(keys.links(ns, 'hal'), 'gw', 'pod-x|1000|nope|0');
    await expect(executor.trySetLinkedPod(link('hal', 'pod-b', LONG_LEASE_MS))).rejects.toBeInstanceOf(
      StatefulWrongTypeError,
    );
  });
});

describe('connection counting', () => {
  it('connection cap - of 60 concurrent acquires for one uid over three connections with max 7, exactly 7 succeed', async () => {
    const callers = [executor, await connectedExecutor(), await connectedExecutor()];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        callers[i % callers.length]!.acquireConnection(conn('ida', `pod-${i % 2}`, `sock-${i}`, 7)),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    for (const refused of results.filter((r) => !r.ok)) expect(refused.count).toBe(7);
    expect(await admin.hlen(keys.connections(ns, 'ida'))).toBe(7);
    const perPod = await executor.countConnections(ns, 'ida');
    expect([...perPod.values()].reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('connection cap - concurrent releases and acquires never take a uid past its max', async () => {
    const held = Array.from({ length: 7 }, (_, i) => `held-${i}`);
    for (const id of held)
      expect((await executor.acquireConnection(conn('jay', 'pod-a', id, 7))).ok).toBe(true);
    const other = await connectedExecutor();
    const [releases, acquires] = await Promise.all([
      Promise.all(
        held.slice(0, 3).map((connectionId) => other.releaseConnection({ ns, uid: 'jay', connectionId })),
      ),
      Promise.all(
        Array.from({ length: 20 }, (_, i) => executor.acquireConnection(conn('jay', 'pod-b', `new-${i}`, 7))),
      ),
    ]);
    expect(releases).toEqual([true, true, true]);
    const admitted = acquires.filter((r) => r.ok).length;
    expect(admitted).toBeLessThanOrEqual(3);
    expect(await admin.hlen(keys.connections(ns, 'jay'))).toBe(4 + admitted);
    for (const result of acquires) expect(result.count).toBeLessThanOrEqual(7);
  });

  it('connection cap - acquiring is idempotent per connection id; releasing twice counts once', async () => {
    expect(await executor.acquireConnection(conn('kim', 'pod-a', 's1', 2))).toEqual({ ok: true, count: 1 });
    expect(await executor.acquireConnection(conn('kim', 'pod-a', 's1', 2)), 'a retry').toEqual({
      ok: true,
      count: 1,
    });
    expect(await executor.acquireConnection(conn('kim', 'pod-b', 's2', 2))).toEqual({ ok: true, count: 2 });
    expect(await executor.acquireConnection(conn('kim', 'pod-b', 's3', 2))).toEqual({ ok: false, count: 2 });
    expect(await executor.acquireConnection(conn('kim', 'pod-b', 's2', 2)), 'a held one at the cap').toEqual({
      ok: true,
      count: 2,
    });
    expect(await executor.countConnections(ns, 'kim')).toEqual(
      new Map([
        ['pod-a', 1],
        ['pod-b', 1],
      ]),
    );
    expect(await executor.releaseConnection({ ns, uid: 'kim', connectionId: 's1' })).toBe(true);
    expect(await executor.releaseConnection({ ns, uid: 'kim', connectionId: 's1' })).toBe(false);
    expect(await executor.acquireConnection(conn('kim', 'pod-b', 's3', 2))).toEqual({ ok: true, count: 2 });
    expect(
      await executor.acquireConnection(conn('lou', 'pod-b', 'any', 0)),
      'max 0: counted, no cap',
    ).toEqual({
      ok: true,
      count: 1,
    });
  });

  it("connection cap - a dead pod's connections stop counting once their lease runs out; renewed ones keep counting", async () => {
    await executor.acquireConnection(conn('max', 'pod-dead', 'd1', 3, SHORT_LEASE_MS));
    await executor.acquireConnection(conn('max', 'pod-dead', 'd2', 3, SHORT_LEASE_MS));
    await executor.acquireConnection(conn('max', 'pod-live', 'l1', 3, SHORT_LEASE_MS));
    // pod-live's heartbeat: its connection gets a long lease; pod-dead never renews.
    expect(
      await executor.renewLeases({
        ns,
        uid: 'max',
        podId: 'pod-live',
        leaseMs: LONG_LEASE_MS,
        connectionIds: ['l1'],
      }),
    ).toEqual({ linked: false, connections: 3 });
    expect(await executor.acquireConnection(conn('max', 'pod-live', 'l2', 3)), 'at the cap').toEqual({
      ok: false,
      count: 3,
    });
    const freed = await gone(
      async () => (await executor.countConnections(ns, 'max')).get('pod-dead') === undefined,
      SHORT_LEASE_MS,
    );
    expect(freed).toBe(true);
    expect(await executor.acquireConnection(conn('max', 'pod-live', 'l2', 3))).toEqual({
      ok: true,
      count: 2,
    });
    expect(await executor.countConnections(ns, 'max')).toEqual(new Map([['pod-live', 2]]));
  });

  it('validation - bad lease, connection id, cap or connection list is refused before anything is sent', async () => {
    const fields = async (call: () => Promise<unknown>) => {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StatefulValidationError);
      return (error as StatefulValidationError).fields.map((f) => f.path);
    };
    expect(await fields(() => executor.trySetLinkedPod(link('u', 'p', 0)))).toEqual(['leaseMs']);
    expect(await fields(() => executor.setLinkedPod(link('u', 'p', 1.5)))).toEqual(['leaseMs']);
    expect(await fields(() => executor.acquireConnection(conn('u', 'p', 'a|b', 1)))).toEqual([
      'connectionId',
    ]);
    expect(await fields(() => executor.acquireConnection(conn('u', 'p', 'x'.repeat(129), 1)))).toEqual([
      'connectionId',
    ]);
    expect(await fields(() => executor.acquireConnection(conn('u', 'p', 's', -1)))).toEqual(['max']);
    expect(await fields(() => executor.releaseConnection({ ns, uid: 'u{x}', connectionId: 's' }))).toEqual([
      'uid',
    ]);
    expect(await fields(() => executor.countConnections('bad ns', 'u'))).toEqual(['ns']);
    expect(
      await fields(() =>
        executor.renewLeases({ ns, uid: 'u', podId: 'p', leaseMs: 10, connectionIds: ['ok', 'not ok'] }),
      ),
    ).toEqual(['connectionIds.1']);
    expect(await admin.exists(keys.links(ns, 'u'), keys.connections(ns, 'u'))).toBe(0);
  });
});

describe('PodPresence leases', () => {
  const HEARTBEAT_MS = 200;
  const LEASE_HEARTBEATS = 5;

  function presence(
    podId: string,
    on: RedisStatefulExecutor,
    leaseHeartbeats = LEASE_HEARTBEATS,
  ): PodPresence {
    const p = new PodPresence({
      executor: on,
      ns,
      service: 'gw',
      podId,
      heartbeatIntervalMs: HEARTBEAT_MS,
      stateTtlSeconds: 1,
      linkPersistSeconds: 30,
      leaseHeartbeats,
      onError: () => {},
    });
    presences.push(p);
    return p;
  }

  it('presence - a pod killed without cleanup leaves no links or counted connections after heartbeatIntervalMs × leaseHeartbeats', async () => {
    // The survivor renews with a lease of 25 heartbeats, so a stall of the test process cannot lapse it.
    const alive = presence('gw-alive', executor, 25);
    const dyingExecutor = await connectedExecutor();
    const doomed = presence('gw-doomed', dyingExecutor);
    await Promise.all([alive.start(), doomed.start()]);
    expect(doomed.leaseMs).toBe(HEARTBEAT_MS * LEASE_HEARTBEATS);
    for (const uid of ['nia', 'oli']) {
      expect((await doomed.link(uid)).ok).toBe(true);
      expect((await doomed.admit(uid, `${uid}-s1`, 5)).ok).toBe(true);
    }
    expect((await alive.link('pia')).ok).toBe(true);
    expect((await alive.admit('nia', 'nia-s2', 5)).ok).toBe(true);
    expect(await executor.getLinkedPod(ns, 'nia', 'gw')).toBe('gw-doomed');
    expect(await executor.countConnections(ns, 'nia')).toEqual(
      new Map([
        ['gw-doomed', 1],
        ['gw-alive', 1],
      ]),
    );

    await dyingExecutor.close(); // kill -9: no stop(), no release, no more heartbeats reach Redis
    const cleared = await gone(async () => {
      const links = await Promise.all(['nia', 'oli'].map((uid) => executor.getLinkService(ns, uid)));
      const counts = await executor.countConnections(ns, 'nia');
      return (
        links.every((l) => l.size === 0) &&
        !counts.has('gw-doomed') &&
        (await admin.exists(keys.links(ns, 'nia'), keys.links(ns, 'oli'), keys.connections(ns, 'oli'))) === 0
      );
    }, doomed.leaseMs);
    expect(cleared, 'the dead pod left nothing behind').toBe(true);
    expect(await executor.getLinkedPod(ns, 'pia', 'gw'), 'the live pod keeps its links').toBe('gw-alive');
    expect(await executor.countConnections(ns, 'nia')).toEqual(new Map([['gw-alive', 1]]));
  });

  it('connection cap - PodPresence admits up to max across two pods, release frees a slot, stop releases all', async () => {
    const one = presence('gw-1', executor);
    const two = presence('gw-2', await connectedExecutor());
    await Promise.all([one.start(), two.start()]);
    expect(await one.admit('quin', 'a', 3)).toEqual({ ok: true, count: 1 });
    expect(await two.admit('quin', 'b', 3)).toEqual({ ok: true, count: 2 });
    expect(await two.admit('quin', 'c', 3)).toEqual({ ok: true, count: 3 });
    expect(await one.admit('quin', 'd', 3)).toEqual({ ok: false, count: 3 });
    expect(one.admittedConnections).toBe(1);
    expect(await two.release('quin', 'b')).toBe(true);
    expect(await two.release('quin', 'b'), 'already released').toBe(false);
    expect(await one.release('quin', 'never-admitted')).toBe(false);
    expect(await one.admit('quin', 'd', 3)).toEqual({ ok: true, count: 3 });
    await one.stop();
    expect(await executor.countConnections(ns, 'quin')).toEqual(new Map([['gw-2', 1]]));
  });
});

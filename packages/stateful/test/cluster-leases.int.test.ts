import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterLeases } from '../src/cluster-leases.ts';
import { adminClient, deleteNamespace, SHARED_REDIS_URL, TEST_TIMEOUTS, uniqueNs } from './fixtures.ts';

/** Long enough that a stalled test process cannot lapse a lease before the test looks. */
const LONG_TTL_MS = 600_000;

const ns = uniqueNs('cl');
let admin: Redis;
const opened: ClusterLeases[] = [];

async function leases(group = 'g1'): Promise<ClusterLeases> {
  const l = new ClusterLeases({
    url: SHARED_REDIS_URL,
    ...TEST_TIMEOUTS,
    commandTimeoutMs: 2_000,
    ns,
    group,
  });
  await l.connect();
  opened.push(l);
  return l;
}

beforeAll(() => {
  admin = adminClient(SHARED_REDIS_URL);
});
afterAll(async () => {
  for (const l of opened) await l.close();
  await deleteNamespace(admin, ns);
  admin.disconnect();
});

describe('informer cluster leases', () => {
  it('lease - a second replica cannot take a cluster whose lease is live, and each take issues a greater fencing token', async () => {
    const l = await leases('take');
    const a = await l.acquire('c1', 'replica-a', LONG_TTL_MS);
    expect(a.ok).toBe(true);
    const b = await l.acquire('c1', 'replica-b', LONG_TTL_MS);
    expect(b).toMatchObject({ ok: false, owner: 'replica-a' });
    // A lease that ran out is taken with a greater token.
    const short = await l.acquire('c2', 'replica-a', 1);
    await expect
      .poll(async () => (await l.acquire('c2', 'replica-b', LONG_TTL_MS)).ok, { timeout: 5_000 })
      .toBe(true);
    const [c2] = (await l.leases()).filter((x) => x.cluster === 'c2');
    expect(c2?.owner).toBe('replica-b');
    expect(short.ok && c2!.token > short.token).toBe(true);
  });

  it('lease - a former owner whose lease was taken over can neither renew, release nor pass the token check', async () => {
    const l = await leases('fence');
    const old = await l.acquire('c1', 'replica-a', 1);
    if (!old.ok) throw new Error('first acquire failed');
    await expect
      .poll(async () => (await l.acquire('c1', 'replica-b', LONG_TTL_MS)).ok, { timeout: 5_000 })
      .toBe(true);
    const renewed = await l.renew('replica-a', LONG_TTL_MS, [{ cluster: 'c1', token: old.token }]);
    expect(renewed.deadlines.get('c1')).toBeUndefined();
    expect(await l.check('c1', 'replica-a', old.token)).toBe(false);
    expect(await l.release('c1', 'replica-a', old.token)).toBe(false);
    const [c1] = await l.leases();
    expect(c1?.owner).toBe('replica-b');
    expect(await l.check('c1', 'replica-b', c1!.token)).toBe(true);
  });

  it('membership - a member that stops beating drops out after its TTL; one that leaves drops out at once', async () => {
    const l = await leases('members');
    await l.beat('a', LONG_TTL_MS);
    await l.beat('b', 1);
    await l.beat('c', LONG_TTL_MS);
    await expect
      .poll(async () => (await l.beat('a', LONG_TTL_MS)).members, { timeout: 5_000 })
      .toEqual(['a', 'c']);
    await l.leave('c');
    expect((await l.beat('a', LONG_TTL_MS)).members).toEqual(['a']);
  });
});

import { randomBytes } from 'node:crypto';
import type { ClusterStatus } from '@tideline/contracts';
import {
  DisposableServer,
  eventually,
  NodeEventLog,
  openTestBus,
  removeStreams,
  TestCluster,
  testToken,
  uniquePrefix,
} from '@tideline/test-support';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningInformer, startInformer } from '../src/index.ts';
import {
  RegistrationCipher,
  RegistrationDecryptError,
  registrationKeyId,
} from '../src/registrations/cipher.ts';
import { registrationsKey } from '../src/registrations/open.ts';
import { RedisRegistrationStore } from '../src/registrations/redis-store.ts';
import { testInformerEnv } from './support/informer-env.ts';

/**
 * Issue 14, item 4: clusters registered over the HTTP API are kept in Redis, encrypted, restored
 * by the next informer on the same Redis and removed on unregister. Real Redis (the shared one,
 * under a key of the test's own bus prefix), real NATS, the Kubernetes API test server.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const WAIT_MS = 15_000;
const ADMIN = {
  authorization: `Bearer ${testToken('admin', ['clusters:admin'])}`,
  'content-type': 'application/json',
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function redisClient(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  cleanups.push(() => void redis.disconnect());
  return redis;
}

async function cluster(name: string, nodes: number): Promise<TestCluster> {
  const c = await TestCluster.start({ name, nodes });
  cleanups.push(() => c[Symbol.asyncDispose]());
  return c;
}

/** An informer on its own bus prefix (and so its own registrations hash) that can be restarted with other keys. */
async function setup() {
  const prefix = uniquePrefix('infreg');
  const bus = await openTestBus(prefix);
  const redis = await redisClient();
  const key = registrationsKey({ statefulNamespace: 'tideline', busPrefix: prefix });
  cleanups.push(async () => {
    await bus.drain();
    await removeStreams(prefix);
  });
  cleanups.push(async () => void (await redis.del(key)));
  const log = await NodeEventLog.open(bus);
  cleanups.push(() => log.close());
  const firstKey = randomBytes(32);
  const start = (keys: { current: Buffer; previous?: Buffer } = { current: firstKey }) =>
    startInformer({
      source: {
        env: testInformerEnv({
          prefix,
          env: {
            TIDELINE_REDIS_URL: REDIS_URL,
            TIDELINE_INFORMER_REGISTRATION_KEY: keys.current.toString('base64'),
            ...(keys.previous
              ? { TIDELINE_INFORMER_REGISTRATION_PREVIOUS_KEY: keys.previous.toString('hex') }
              : {}),
          },
        }),
      },
    });
  let current: RunningInformer | undefined = await start();
  cleanups.push(async () => void (await current?.stop()));
  return {
    prefix,
    log,
    redis,
    key,
    firstKey,
    get informer() {
      return current!;
    },
    async stop() {
      await current?.stop();
      current = undefined;
    },
    async start(keys?: { current: Buffer; previous?: Buffer }) {
      current = await start(keys);
      return current;
    },
  };
}

async function register(informer: RunningInformer, name: string, kubeconfig: string) {
  return fetch(`${informer.url}/api/v1/clusters/register`, {
    method: 'POST',
    headers: ADMIN,
    body: JSON.stringify({ name, kubeconfig }),
  });
}

async function statuses(informer: RunningInformer): Promise<ClusterStatus[]> {
  const response = await fetch(`${informer.url}/api/v1/clusters`, { headers: ADMIN });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: ClusterStatus[] }).data;
}

/** Waits until the cluster is watched and every change of the server is published and read back. */
async function settled(informer: RunningInformer, c: TestCluster, log: NodeEventLog): Promise<void> {
  const ok = await eventually(() => {
    const watcher = informer.registry.watcherOf(c.name);
    const publisher = informer.registry.publisherOf(c.name);
    if (!watcher?.ready || !publisher || publisher.busy || publisher.lastEventId === 0) return false;
    if (Number(watcher.resourceVersion || '0') < c.server.resourceVersion) return false;
    return log.lastIdOf(c.name) === publisher.lastEventId;
  }, WAIT_MS);
  expect(ok, `cluster ${c.name} settled`).toBe(true);
}

/** Every value of every key in Redis, as text (strings, hashes, lists, sets, sorted sets, streams). */
async function everyValueInRedis(redis: Redis): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  for (let round = 0; round < 100_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.getBuffer(key))?.toString('latin1') ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
    cursor = next;
    if (cursor === '0') return out.join('\n');
  }
  throw new Error('SCAN did not finish');
}

describe('runtime registrations in Redis', () => {
  it('registrations - a cluster registered at runtime survives a restart of the informer', async () => {
    const a = await cluster('alpha', 3);
    const world = await setup();
    expect((await register(world.informer, 'alpha', a.server.kubeconfig({ cluster: 'alpha' }))).status).toBe(
      201,
    );
    await settled(world.informer, a, world.log);
    const last = world.log.lastIdOf('alpha');

    await world.stop();
    a.server.label('node-00001', 'changed', 'while-down');
    const restarted = await world.start();

    // Back from Redis, watched again, and what changed while it was down is published once.
    await settled(restarted, a, world.log);
    expect(world.log.lastIdOf('alpha')).toBe(last + 1);
    expect(world.log.of('alpha').at(-1)).toMatchObject({
      type: 'updated',
      eventId: last + 1,
      data: { name: 'node-00001', changed: ['labels'] },
    });
    const [status, ...others] = await statuses(restarted);
    expect(others).toEqual([]);
    expect(status).toMatchObject({ name: 'alpha', source: 'api', state: 'watching', synced: true, nodes: 3 });
    expect(status!.state).not.toBe('orphaned');

    // And it keeps streaming.
    a.server.cordon('node-00002');
    expect(await eventually(() => world.log.lastIdOf('alpha') === last + 2, WAIT_MS)).toBe(true);
    expect(world.log.of('alpha').at(-1)).toMatchObject({
      data: { name: 'node-00002', changed: ['unschedulable'] },
    });
    expect(world.log.of('alpha').filter((e) => e.type === 'cluster-registered')).toHaveLength(1);
    expect(world.log.invalid).toEqual([]);
  });

  it('registrations - the stored kubeconfig is not readable in plain text in Redis', async () => {
    const a = await cluster('alpha', 1);
    const world = await setup();
    const kubeconfig = a.server.kubeconfig({ cluster: 'alpha' });
    expect((await register(world.informer, 'alpha', kubeconfig)).status).toBe(201);

    const record = await world.redis.hget(world.key, 'alpha');
    expect(record).toMatch(new RegExp(`^v1\\.${registrationKeyId(world.firstKey)}\\.`));
    const everything = await everyValueInRedis(world.redis);
    expect(everything).toContain(record!);
    for (const secret of [a.server.token, a.server.url, `127.0.0.1:${a.server.port}`]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }

    // The right key reads it back as registered; a wrong key is refused clearly, naming the cluster only.
    const readWith = (key: Buffer, onUnreadable?: (error: RegistrationDecryptError) => void) => {
      const store = new RedisRegistrationStore({
        url: REDIS_URL,
        key: world.key,
        cipher: new RegistrationCipher(key),
        commandTimeoutMs: 2_000,
        connectTimeoutMs: 2_000,
        reconnectBackoff: { initialMs: 50, maxMs: 500 },
        ...(onUnreadable ? { onUnreadable } : {}),
      });
      cleanups.push(() => store.close());
      return store;
    };
    const right = readWith(world.firstKey);
    await right.connect();
    expect(await right.list()).toEqual([{ name: 'alpha', kubeconfig, registeredAt: expect.any(String) }]);
    const wrongKey = randomBytes(32);
    const wrong = readWith(wrongKey);
    await wrong.connect();
    const error = await wrong.list().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistrationDecryptError);
    expect((error as RegistrationDecryptError).cluster).toBe('alpha');
    expect((error as Error).message).toBe(
      `the stored registration of cluster alpha cannot be decrypted: sealed with key ${registrationKeyId(world.firstKey)}, which is neither the current nor the previous key`,
    );
    for (const secret of [
      a.server.token,
      a.server.url,
      world.firstKey.toString('base64'),
      wrongKey.toString('base64'),
    ])
      expect((error as Error).message).not.toContain(secret);
    const reported: RegistrationDecryptError[] = [];
    const lenient = readWith(wrongKey, (e) => reported.push(e));
    await lenient.connect();
    expect(await lenient.list()).toEqual([]);
    expect(reported.map((e) => e.cluster)).toEqual(['alpha']);
  });

  it('registrations - unregister removes the stored registration', async () => {
    const a = await cluster('alpha', 2);
    const world = await setup();
    expect((await register(world.informer, 'alpha', a.server.kubeconfig({ cluster: 'alpha' }))).status).toBe(
      201,
    );
    await settled(world.informer, a, world.log);
    expect(await world.redis.hexists(world.key, 'alpha')).toBe(1);

    const removed = await fetch(`${world.informer.url}/api/v1/clusters/unregister`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'alpha' }),
    });
    expect(removed.status).toBe(200);
    expect(await world.redis.hexists(world.key, 'alpha')).toBe(0);
    const last = world.log.lastIdOf('alpha');
    expect(world.log.of('alpha').at(-1)).toMatchObject({ type: 'cluster-removed', eventId: last });

    // A restart brings nothing back: no watch, no orphan, no event.
    await world.stop();
    const restarted = await world.start();
    expect(await statuses(restarted)).toEqual([]);
    expect(restarted.registry.watcherOf('alpha')).toBeUndefined();
    expect(world.log.lastIdOf('alpha')).toBe(last);
  });

  it('registrations - after a key rotation (previous key set) the cluster is restored and its record sealed again with the new key', async () => {
    const a = await cluster('alpha', 2);
    const world = await setup();
    expect((await register(world.informer, 'alpha', a.server.kubeconfig({ cluster: 'alpha' }))).status).toBe(
      201,
    );
    await settled(world.informer, a, world.log);
    await world.stop();

    const newKey = randomBytes(32);
    const restarted = await world.start({ current: newKey, previous: world.firstKey });
    await settled(restarted, a, world.log);
    expect(await world.redis.hget(world.key, 'alpha')).toMatch(
      new RegExp(`^v1\\.${registrationKeyId(newKey)}\\.`),
    );

    // The previous key can now be dropped.
    await world.stop();
    const again = await world.start({ current: newKey });
    await settled(again, a, world.log);
    expect((await statuses(again)).map((s) => [s.name, s.source, s.state])).toEqual([
      ['alpha', 'api', 'watching'],
    ]);
  });

  it('registrations - a stored registration the configured key cannot open is reported orphaned with the reason, never restored with a guess, and can be unregistered', async () => {
    const a = await cluster('alpha', 2);
    const world = await setup();
    expect((await register(world.informer, 'alpha', a.server.kubeconfig({ cluster: 'alpha' }))).status).toBe(
      201,
    );
    await settled(world.informer, a, world.log);
    const last = world.log.lastIdOf('alpha');
    await world.stop();

    const restarted = await world.start({ current: randomBytes(32) });
    const [status, ...others] = await statuses(restarted);
    expect(others).toEqual([]);
    expect(status).toMatchObject({
      name: 'alpha',
      source: 'api',
      state: 'orphaned',
      nodes: 2,
      lastEventId: last,
    });
    expect(status!.lastError).toBe(
      `the stored registration of cluster alpha cannot be decrypted: sealed with key ${registrationKeyId(world.firstKey)}, which is neither the current nor the previous key`,
    );
    expect(restarted.registry.watcherOf('alpha')).toBeUndefined();

    const removed = await fetch(`${restarted.url}/api/v1/clusters/unregister`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'alpha' }),
    });
    expect(await removed.json()).toEqual({ data: { name: 'alpha', lastEventId: last + 1 } });
    expect(await world.redis.hexists(world.key, 'alpha')).toBe(0);
    expect(await statuses(restarted)).toEqual([]);
  });

  it('registrations - while Redis is down a registration is refused with 503 and nothing is watched; an unregistration is refused and the cluster keeps streaming', async () => {
    const a = await cluster('alpha', 2);
    const b = await cluster('beta', 1);
    const redis = await DisposableServer.redis();
    cleanups.push(() => redis[Symbol.asyncDispose]());
    const prefix = uniquePrefix('infreg');
    const bus = await openTestBus(prefix);
    cleanups.push(async () => {
      await bus.drain();
      await removeStreams(prefix);
    });
    const log = await NodeEventLog.open(bus);
    cleanups.push(() => log.close());
    const informer = await startInformer({
      source: {
        env: testInformerEnv({
          prefix,
          env: {
            TIDELINE_REDIS_URL: redis.url,
            TIDELINE_STATEFUL_RECONNECT_BACKOFF_MS: '50',
            TIDELINE_STATEFUL_RECONNECT_BACKOFF_MAX_MS: '200',
          },
        }),
      },
    });
    cleanups.push(() => informer.stop());
    expect((await register(informer, 'alpha', a.server.kubeconfig({ cluster: 'alpha' }))).status).toBe(201);
    await settled(informer, a, log);
    const last = log.lastIdOf('alpha');

    await redis.stop();
    const refused = await register(informer, 'beta', b.server.kubeconfig({ cluster: 'beta' }));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    expect(informer.registry.watcherOf('beta')).toBeUndefined();
    const kept = await fetch(`${informer.url}/api/v1/clusters/unregister`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ name: 'alpha' }),
    });
    expect(kept.status).toBe(503);
    a.server.cordon('node-00001');
    expect(await eventually(() => log.lastIdOf('alpha') === last + 1, WAIT_MS)).toBe(true);
    expect(log.of('beta')).toEqual([]);
    expect((await statuses(informer)).map((s) => s.name)).toEqual(['alpha']);

    // Back up: the same registration goes through.
    await redis.start();
    expect(
      await eventually(
        async () =>
          (await register(informer, 'beta', b.server.kubeconfig({ cluster: 'beta' }))).status === 201,
        WAIT_MS,
        100,
      ),
    ).toBe(true);
    await settled(informer, b, log);
  });
});

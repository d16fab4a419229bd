import { DEAD_LETTER_HEADERS } from '@tideline/bus';
import { loadConfig, redisSettings, statefulSettings } from '@tideline/config';
import { DeadLettersAnswer, OPERATOR_API, ServicePodsAnswer, UserLinksAnswer } from '@tideline/contracts';
import { createStatefulExecutor } from '@tideline/stateful';
import { DisposableServer, testToken } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { NodesWorld } from './support/world.ts';

const operator = { authorization: `Bearer ${testToken('ops', ['operator:read'])}` };

describe('operator reads of the stateful executor', () => {
  it('links and pods - which pod holds a uid, the push-gateway pods and their state; 403 without operator:read; 503 while Redis is down', async () => {
    await using redis = await DisposableServer.redis();
    await using world = await NodesWorld.create({ cacheEnv: { TIDELINE_REDIS_URL: redis.url } });
    const config = loadConfig(
      { ...redisSettings, ...statefulSettings },
      { env: { TIDELINE_REDIS_URL: redis.url, TIDELINE_STATEFUL_NAMESPACE: world.namespace } },
    );
    const executor = createStatefulExecutor({ config, connectionName: 'operator-test' });
    await executor.connect();
    world.defer(() => executor.close());
    await executor.setServiceState({
      ns: world.namespace,
      service: 'push-gateway',
      podId: 'gw-1',
      state: 'ready',
      ttlSeconds: 60,
    });
    await executor.setServiceState({
      ns: world.namespace,
      service: 'push-gateway',
      podId: 'gw-2',
      state: 'draining',
      ttlSeconds: 60,
    });
    await executor.setLinkedPod({
      ns: world.namespace,
      uid: 'user:alice@example',
      service: 'push-gateway',
      podId: 'gw-2',
      persistSeconds: 30,
    });
    const { url } = world.cache!;

    const links = await fetch(`${url}${OPERATOR_API.userLinks('user:alice@example')}`, { headers: operator });
    expect(links.status).toBe(200);
    expect(UserLinksAnswer.parse(await links.json())).toEqual({
      data: { uid: 'user:alice@example', links: { 'push-gateway': 'gw-2' } },
    });
    const nobody = UserLinksAnswer.parse(
      await (await fetch(`${url}${OPERATOR_API.userLinks('bob')}`, { headers: operator })).json(),
    );
    expect(nobody.data.links).toEqual({});
    const pods = await fetch(`${url}${OPERATOR_API.servicePods('push-gateway')}`, { headers: operator });
    expect(ServicePodsAnswer.parse(await pods.json())).toEqual({
      data: { service: 'push-gateway', pods: { 'gw-1': 'ready', 'gw-2': 'draining' } },
    });

    const reader = { authorization: `Bearer ${testToken('ops', ['nodes:read'])}` };
    expect(
      (await fetch(`${url}${OPERATOR_API.servicePods('push-gateway')}`, { headers: reader })).status,
    ).toBe(403);
    const invalid = await fetch(`${url}/api/v1/operator/users/${encodeURIComponent('bad|uid')}/links`, {
      headers: operator,
    });
    expect(invalid.status).toBe(400);

    await redis.stop();
    const down = await fetch(`${url}${OPERATOR_API.servicePods('push-gateway')}`, { headers: operator });
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});

describe('operator view of the dead letters', () => {
  it('dead letters - a page at a time with the total and the next cursor; a bad query is refused with the error body', async () => {
    await using world = await NodesWorld.create();
    for (let n = 1; n <= 3; n++)
      await world.bus.publish(
        'dead-letter.nodes',
        { n },
        {
          msgId: `cache:node-${n}`,
          headers: {
            [DEAD_LETTER_HEADERS.topic]: 'nodes',
            [DEAD_LETTER_HEADERS.subject]: 'nodes.c1.upsert',
            [DEAD_LETTER_HEADERS.group]: 'cache',
            [DEAD_LETTER_HEADERS.reason]: 'rejected: schema',
            [DEAD_LETTER_HEADERS.deliveries]: '1',
            [DEAD_LETTER_HEADERS.msgId]: `node-${n}`,
          },
        },
      );
    const { url } = world.cache!;
    const get = (query: string) => fetch(`${url}${OPERATOR_API.deadLetters}${query}`, { headers: operator });

    const first = DeadLettersAnswer.parse(await (await get('?limit=2')).json());
    expect(first.data.map((l) => [l.msgId, l.group, l.reason, l.redriven])).toEqual([
      ['node-1', 'cache', 'rejected: schema', false],
      ['node-2', 'cache', 'rejected: schema', false],
    ]);
    expect(first.total).toBe(3);
    expect(first.next).toBe(first.data[1]!.id);
    const last = DeadLettersAnswer.parse(await (await get(`?after=${first.next}&limit=2`)).json());
    expect(last.data.map((l) => l.msgId)).toEqual(['node-3']);
    expect(last).toMatchObject({ total: 3 });
    expect(last.next).toBeUndefined();
    // Without a query: the first page of the default size, every one of the three.
    expect(DeadLettersAnswer.parse(await (await get('')).json()).data).toHaveLength(3);
    // Newest first (what the console shows), going back with `before`.
    const newest = DeadLettersAnswer.parse(await (await get('?order=newest&limit=2')).json());
    expect(newest.data.map((l) => l.msgId)).toEqual(['node-3', 'node-2']);
    expect(newest.next).toBe(newest.data[1]!.id);
    const older = DeadLettersAnswer.parse(
      await (await get(`?order=newest&before=${newest.next}&limit=2`)).json(),
    );
    expect(older.data.map((l) => l.msgId)).toEqual(['node-1']);
    expect(older.next).toBeUndefined();

    for (const bad of [
      '?limit=0',
      '?limit=501',
      '?after=-1',
      '?limit=two',
      '?offset=5',
      '?order=latest',
      '?order=newest&after=1',
      '?before=2',
    ]) {
      const refused = await get(bad);
      expect(refused.status, bad).toBe(400);
      expect(await refused.json(), bad).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
    const reader = { authorization: `Bearer ${testToken('ops', ['nodes:read'])}` };
    expect((await fetch(`${url}${OPERATOR_API.deadLetters}`, { headers: reader })).status).toBe(403);
  });
});

import { loadConfig, redisSettings, statefulSettings } from '@tideline/config';
import { OPERATOR_API, ServicePodsAnswer, UserLinksAnswer } from '@tideline/contracts';
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

import { SCOPES } from '@tideline/auth';
import { INTERNAL_PATHS, INTERNAL_SCOPE, NODES_API } from '@tideline/contracts';
import { testServiceToken, testToken } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { NodesWorld } from './support/world.ts';

const EVERY_SCOPE = [
  SCOPES.websitesRead,
  SCOPES.websitesWrite,
  SCOPES.nodesRead,
  SCOPES.nodesReadCluster('alpha'),
  SCOPES.clustersAdmin,
  SCOPES.operatorRead,
  INTERNAL_SCOPE,
];

interface ErrorBody {
  error: { code: string; message: string };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('cache internal endpoints', () => {
  it('internal - a user token carrying every scope is refused on /internal/*', async () => {
    await using world = await NodesWorld.create({ startInformer: false });
    const cache = world.cache!;
    const user = testToken('mallory', EVERY_SCOPE);
    // What a service token gets instead: the snapshot of an unregistered cluster is NOT_FOUND, its replay answers.
    for (const [path, admitted] of [
      [INTERNAL_PATHS.nodesSnapshot('alpha'), 404],
      [`${INTERNAL_PATHS.nodesEvents('alpha')}?after=0&limit=10`, 200],
    ] as const) {
      const refused = await fetch(`${cache.url}${path}`, { headers: bearer(user) });
      expect(refused.status, path).toBe(401);
      expect(await refused.json(), path).toEqual({
        error: {
          code: 'UNAUTHORIZED',
          message: 'the token is for another audience',
          requestId: expect.any(String),
        },
      });
      const service = await fetch(`${cache.url}${path}`, {
        headers: bearer(testServiceToken('service:gateway')),
      });
      expect(service.status, path).toBe(admitted);
    }
    const nodes = await fetch(`${cache.url}${NODES_API.nodes('alpha')}`, {
      headers: bearer(testServiceToken('service:gateway')),
    });
    expect(nodes.status).toBe(401);
    expect(((await nodes.json()) as ErrorBody).error.code).toBe('UNAUTHORIZED');
  });

  it('management listener - /internal/* and /metrics are absent from the public port of the cache', async () => {
    await using world = await NodesWorld.create({
      startInformer: false,
      cacheEnv: { TIDELINE_MANAGEMENT_PORT: '0' },
    });
    const cache = world.cache!;
    const service = bearer(testServiceToken('service:gateway'));
    for (const path of [INTERNAL_PATHS.nodesSnapshot('alpha'), '/metrics']) {
      const publicAnswer = await fetch(`${cache.url}${path}`, { headers: service });
      expect(publicAnswer.status, path).toBe(404);
      expect(((await publicAnswer.json()) as ErrorBody).error.message, path).toMatch(/^no route GET /);
      const managed = await fetch(`${cache.managementUrl}${path}`, { headers: service });
      const body = await managed.text();
      // On the management port the route exists: metrics, or the snapshot's own "no such cluster".
      if (path === '/metrics') expect(managed.status).toBe(200);
      else
        expect([managed.status, JSON.parse(body).error.message]).toEqual([
          404,
          expect.stringMatching(/alpha/),
        ]);
    }
  });
});

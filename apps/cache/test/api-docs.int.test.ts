import { API_CATALOGUE, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { testServiceToken, testToken } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { NodesWorld } from './support/world.ts';

describe('cache API documents', () => {
  it('undocumented - every route the cache registers is in its OpenAPI document, served at /docs/openapi.json; a route left out of the catalogue is reported', async () => {
    await using world = await NodesWorld.create({ startInformer: false });
    const cache = world.cache!;
    const routes = registeredRoutes(cache.http);
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('GET /api/v1/clusters/:cluster/nodes/:name');
    expect(undocumentedRoutes(routes, openApiDocument('cache'))).toEqual([]);

    const served = await fetch(`${cache.url}/docs/openapi.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(openApiDocument('cache'));
    const ui = await fetch(`${cache.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');

    // Negative control: the same server checked against a catalogue without one route.
    const catalogue = API_CATALOGUE.cache;
    const left = catalogue.routes.find((r) => r.operationId === 'nodesReplay')!;
    const without = {
      ...API_CATALOGUE,
      cache: { ...catalogue, routes: catalogue.routes.filter((r) => r !== left) },
    };
    expect(undocumentedRoutes(routes, openApiDocument('cache', without))).toEqual([
      'GET /internal/v1/clusters/:cluster/nodes/events',
    ]);
  });

  it('answers - every cache route answers with the status and schema its document names', async () => {
    await using world = await NodesWorld.create({ clusters: [{ name: 'docs', nodes: 2 }] });
    const cache = world.cache!;
    const user = testToken('docs', ['nodes:read', 'operator:read']);
    const internal = testServiceToken('service:push-gateway');
    const calls: [operationId: string, path: string, token: string][] = [
      ['listClusters', '/api/v1/clusters', user],
      ['listNodes', '/api/v1/clusters/docs/nodes?page=1&page_size=10&ready=true', user],
      ['getNode', '/api/v1/clusters/docs/nodes/node-00000', user],
      ['userLinks', '/api/v1/operator/users/nobody/links', user],
      ['servicePods', '/api/v1/operator/services/push-gateway/pods', user],
      ['operatorCacheClusters', '/api/v1/operator/cache/clusters', user],
      ['operatorDeadLetters', '/api/v1/operator/dead-letters', user],
      ['nodesSnapshot', '/internal/v1/clusters/docs/nodes/snapshot', internal],
      ['nodesReplay', '/internal/v1/clusters/docs/nodes/events?after=0&limit=100', internal],
    ];
    const routes = API_CATALOGUE.cache.routes;
    for (const [operationId, path, token] of calls) {
      const route = routes.find((r) => r.operationId === operationId)!;
      const answer = await fetch(`${cache.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body: unknown = await answer.json();
      expect(answer.status, `${operationId}: ${JSON.stringify(body)}`).toBe(route.response.status);
      const parsed = route.response.schema.safeParse(body);
      expect(parsed.success, `${operationId}: ${parsed.error?.message}`).toBe(true);
      // Nothing undocumented either: parsing strips unknown fields, so the parse must equal the answer.
      expect(parsed.data, operationId).toEqual(body);
    }
    expect(calls.map(([operationId]) => operationId).sort()).toEqual(routes.map((r) => r.operationId).sort());
  });
});

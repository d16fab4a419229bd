import { API_CATALOGUE, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
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
});

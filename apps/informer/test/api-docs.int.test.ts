import { API_CATALOGUE, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { openTestBus, removeStreams, uniquePrefix } from '@tideline/test-support';
import { describe, expect, it } from 'vitest';
import { startInformer } from '../src/index.ts';
import { testInformerEnv } from './support/informer-env.ts';

describe('informer API documents', () => {
  it('undocumented - every route the informer registers is in its OpenAPI document, served at /docs/openapi.json; a route left out of the catalogue is reported', async () => {
    const prefix = uniquePrefix('infdocs');
    const bus = await openTestBus(prefix);
    const informer = await startInformer({ source: { env: testInformerEnv({ prefix }) } });
    try {
      const routes = registeredRoutes(informer.http);
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/v1/clusters/register');
      expect(undocumentedRoutes(routes, openApiDocument('informer'))).toEqual([]);

      const served = await fetch(`${informer.url}/docs/openapi.json`);
      expect(served.status).toBe(200);
      expect(await served.json()).toEqual(openApiDocument('informer'));
      const ui = await fetch(`${informer.url}/docs`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('swagger-ui');

      // Negative control: the same server checked against a catalogue without one route.
      const catalogue = API_CATALOGUE.informer;
      const left = catalogue.routes.find((r) => r.operationId === 'unregisterCluster')!;
      const without = {
        ...API_CATALOGUE,
        informer: { ...catalogue, routes: catalogue.routes.filter((r) => r !== left) },
      };
      expect(undocumentedRoutes(routes, openApiDocument('informer', without))).toEqual([
        'POST /api/v1/clusters/unregister',
      ]);
    } finally {
      await informer.stop('test');
      await bus.drain();
      await removeStreams(prefix);
    }
  });
});

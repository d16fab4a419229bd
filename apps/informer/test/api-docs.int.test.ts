import { API_CATALOGUE, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { openTestBus, removeStreams, TestCluster, testToken, uniquePrefix } from '@tideline/test-support';
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

  it('answers - every informer route answers with the status and schema its document names', async () => {
    const prefix = uniquePrefix('infdocs');
    const bus = await openTestBus(prefix);
    await using cluster = await TestCluster.start({ name: 'docs', nodes: 1 });
    const informer = await startInformer({ source: { env: testInformerEnv({ prefix }) } });
    try {
      const admin = testToken('docs', ['clusters:admin', 'operator:read']);
      const routes = API_CATALOGUE.informer.routes;
      const calls: [operationId: string, body?: unknown][] = [
        ['registerCluster', { name: 'docs', kubeconfig: cluster.server.kubeconfig({ cluster: 'docs' }) }],
        ['listClusterStatuses'],
        ['operatorInformerClusters'],
        ['unregisterCluster', { name: 'docs' }],
      ];
      for (const [operationId, body] of calls) {
        const route = routes.find((r) => r.operationId === operationId)!;
        const answer = await fetch(`${informer.url}${route.path}`, {
          method: route.method,
          headers: {
            authorization: `Bearer ${admin}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const answered: unknown = await answer.json();
        expect(answer.status, `${operationId}: ${JSON.stringify(answered)}`).toBe(route.response.status);
        const parsed = route.response.schema.safeParse(answered);
        expect(parsed.success, `${operationId}: ${parsed.error?.message}`).toBe(true);
        // Nothing undocumented either: parsing strips unknown fields, so the parse must equal the answer.
        expect(parsed.data, operationId).toEqual(answered);
      }
      expect(calls.map(([operationId]) => operationId).sort()).toEqual(
        routes.map((r) => r.operationId).sort(),
      );
    } finally {
      await informer.stop('test');
      await bus.drain();
      await removeStreams(prefix);
    }
  });
});

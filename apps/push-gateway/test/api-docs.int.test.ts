import { asyncApiDocument, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { describe, expect, it } from 'vitest';
import { World } from './support/world.ts';

describe('push-gateway API documents', () => {
  it('docs - /docs/asyncapi.json serves the generated socket and bus document, and the gateway has no undocumented HTTP route', async () => {
    await using world = await World.start();
    const served = await fetch(`${world.gateway.url}/docs/asyncapi.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(asyncApiDocument());
    // Socket.IO answers on the HTTP server itself: Fastify holds the probes, /docs and the operator view.
    const routes = registeredRoutes(world.gateway.http);
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('GET /docs/asyncapi.json');
    expect(undocumentedRoutes(routes, openApiDocument('push-gateway'))).toEqual([]);
  });
});

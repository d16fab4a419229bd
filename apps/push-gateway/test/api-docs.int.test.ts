import { asyncApiDocument, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { describe, expect, it } from 'vitest';
import { World } from './support/world.ts';

describe('push-gateway API documents', () => {
  it('docs - /docs/asyncapi.json and /docs/openapi.json serve the generated documents, and the gateway has no undocumented HTTP route', async () => {
    await using world = await World.start();
    const served = await fetch(`${world.gateway.url}/docs/asyncapi.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(asyncApiDocument());
    // The operator view's document, as the other services serve theirs (Swagger UI at /docs).
    const openapi = await fetch(`${world.gateway.url}/docs/openapi.json`);
    expect(openapi.status).toBe(200);
    expect(await openapi.json()).toEqual(openApiDocument('push-gateway'));
    expect((await fetch(`${world.gateway.url}/docs`)).status).toBe(200);
    // Socket.IO answers on the HTTP server itself: Fastify holds the probes, /docs and the operator view.
    const routes = registeredRoutes(world.gateway.http);
    expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('GET /docs/asyncapi.json');
    expect(undocumentedRoutes(routes, openApiDocument('push-gateway'))).toEqual([]);
  });
});

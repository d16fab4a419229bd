import { API_CATALOGUE, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { describe, expect, it } from 'vitest';
import { ApiFixture } from './harness.ts';

const SECRET_MARKER = 'jwt-secret-marker-that-must-never-be-served-0123456789';

describe('website-api API documents', () => {
  it('docs - /docs serves Swagger UI and /docs/openapi.json the generated document, to a caller without a token', async () => {
    const fixture = await ApiFixture.start();
    try {
      const ui = await fetch(`${fixture.api.url}/docs`, { redirect: 'follow' });
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/text\/html/);
      expect(await ui.text()).toContain('swagger-ui');
      const document = await fetch(`${fixture.api.url}/docs/openapi.json`);
      expect(document.status).toBe(200);
      expect(await document.json()).toEqual(openApiDocument('website-api'));
      const missing = await fetch(`${fixture.api.url}/docs/static/no-such-file.js`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    } finally {
      await fixture.dispose();
    }
  });

  it('undocumented - every route website-api registers is in its OpenAPI document; a route left out of the catalogue is reported', async () => {
    const fixture = await ApiFixture.start();
    try {
      const routes = registeredRoutes(fixture.api.http);
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/v1/websites/create');
      expect(undocumentedRoutes(routes, openApiDocument('website-api'))).toEqual([]);

      // Negative control: the same server checked against a catalogue without one route.
      const catalogue = API_CATALOGUE['website-api'];
      const left = catalogue.routes.find((r) => r.path === '/api/v1/websites/:id')!;
      const without = {
        ...API_CATALOGUE,
        'website-api': { ...catalogue, routes: catalogue.routes.filter((r) => r !== left) },
      };
      expect(undocumentedRoutes(routes, openApiDocument('website-api', without))).toEqual([
        'GET /api/v1/websites/:id',
      ]);
    } finally {
      await fixture.dispose();
    }
  });

  it('docs - the public documents carry no secret of the configuration (JWT key, service token, database URL)', async () => {
    const fixture = await ApiFixture.start({
      env: { TIDELINE_JWT_SECRET: SECRET_MARKER, TIDELINE_SERVICE_TOKEN: `${SECRET_MARKER}-token` },
    });
    try {
      for (const path of ['/docs', '/docs/openapi.json', '/docs/json', '/docs/yaml']) {
        const answer = await fetch(`${fixture.api.url}${path}`);
        expect(answer.status, path).toBe(200);
        const text = await answer.text();
        expect(text, path).not.toContain(SECRET_MARKER);
        expect(text, path).not.toContain(fixture.api.config.databaseUrl);
      }
    } finally {
      await fixture.dispose();
    }
  });

  it('docs off - with TIDELINE_HTTP_DOCS_ENABLED=false /docs and /docs/openapi.json answer 404 NOT_FOUND', async () => {
    const fixture = await ApiFixture.start({ env: { TIDELINE_HTTP_DOCS_ENABLED: 'false' } });
    try {
      for (const path of ['/docs', '/docs/openapi.json', '/docs/static/index.html']) {
        const answer = await fetch(`${fixture.api.url}${path}`);
        expect(answer.status, path).toBe(404);
        expect(await answer.json(), path).toEqual({
          error: { code: 'NOT_FOUND', message: `no route GET ${path}` },
        });
      }
      expect(
        registeredRoutes(fixture.api.http).filter((r) => r.url === '/docs' || r.url.startsWith('/docs/')),
      ).toEqual([]);
    } finally {
      await fixture.dispose();
    }
  });
});

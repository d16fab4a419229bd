import { API_CATALOGUE, openApiDocument, undocumentedRoutes } from '@tideline/contracts';
import { registeredRoutes } from '@tideline/runtime';
import { describe, expect, it } from 'vitest';
import { ApiFixture, tokens } from './harness.ts';

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
          error: { code: 'NOT_FOUND', message: `no route GET ${path}`, requestId: expect.any(String) },
        });
      }
      expect(
        registeredRoutes(fixture.api.http).filter((r) => r.url === '/docs' || r.url.startsWith('/docs/')),
      ).toEqual([]);
    } finally {
      await fixture.dispose();
    }
  });

  it('answers - every website-api route answers with the status and schema its document names', async () => {
    const fixture = await ApiFixture.start();
    try {
      const routes = API_CATALOGUE['website-api'].routes;
      const suffix = fixture.busPrefix
        .slice(-8)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x');
      const calls: { operationId: string; path: string; body?: unknown; token?: string }[] = [
        {
          operationId: 'createLineGroup',
          path: '/api/v1/line-groups/create',
          body: { name: `docs-${suffix}`, cname: `edge-${suffix}.cdn.example.net` },
        },
        { operationId: 'listLineGroups', path: '/api/v1/line-groups' },
      ];
      const answers = new Map<string, { status: number; body: unknown }>();
      const run = async (entry: (typeof calls)[number]) => {
        const route = routes.find((r) => r.operationId === entry.operationId)!;
        const answer = await fixture.call(route.method, entry.path, {
          ...(entry.body === undefined ? {} : { body: entry.body }),
          ...(entry.token === undefined ? {} : { token: entry.token }),
        });
        expect(answer.status, `${entry.operationId}: ${JSON.stringify(answer.body)}`).toBe(
          route.response.status,
        );
        const parsed = route.response.schema.safeParse(answer.body);
        expect(parsed.success, `${entry.operationId}: ${parsed.error?.message}`).toBe(true);
        // Nothing undocumented either: parsing strips unknown fields, so the parse must equal the answer.
        expect(parsed.data, entry.operationId).toEqual(answer.body);
        answers.set(entry.operationId, answer);
        return answer.body as { data: { id?: number; website_id?: number } };
      };
      for (const entry of calls) await run(entry);
      const lineGroupId = (answers.get('createLineGroup')!.body as { data: { id: number } }).data.id;
      const created = await run({
        operationId: 'createWebsite',
        path: '/api/v1/websites/create',
        body: { domains: [`www.docs-${suffix}.example.com`], line_group_id: lineGroupId },
      });
      const id = created.data.website_id!;
      await run({
        operationId: 'updateWebsite',
        path: '/api/v1/websites/update',
        body: { website_id: id, status: 'paused' },
      });
      await run({ operationId: 'listWebsites', path: '/api/v1/websites?page=1&page_size=10' });
      await run({ operationId: 'getWebsite', path: `/api/v1/websites/${id}` });
      await run({
        operationId: 'websitesSnapshot',
        path: '/internal/v1/websites/snapshot',
        token: tokens.internal,
      });
      await run({
        operationId: 'websitesReplay',
        path: '/internal/v1/websites/events?after=0&limit=100',
        token: tokens.internal,
      });
      await run({ operationId: 'deleteWebsite', path: '/api/v1/websites/delete', body: { website_id: id } });
      await run({ operationId: 'operatorRelay', path: '/api/v1/operator/relay', token: tokens.operator });
      expect([...answers.keys()].sort()).toEqual(routes.map((r) => r.operationId).sort());
    } finally {
      await fixture.dispose();
    }
  });
});

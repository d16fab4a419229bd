import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { API_CATALOGUE, apiServiceNames } from './api-catalogue.ts';
import { renderApiDocuments } from './api-docs.ts';
import { asyncApiDocument, serverEventSchemas, undocumentedEvents } from './asyncapi.ts';
import { openApiDocument, undocumentedRoutes } from './openapi.ts';
import { clientEventSchemas } from './socket.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PARSE_TIMEOUT_MS = 60_000;

/** Errors (severity 0) and warnings (1) of the AsyncAPI parser; hints and information are not faults. */
async function asyncApiFaults(document: unknown): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(document));
  return diagnostics
    .filter((d) => d.severity <= 1)
    .map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
}

describe('OpenAPI documents', () => {
  it.each(apiServiceNames)(
    '%s - the document is valid OpenAPI 3.1 for the official parser',
    async (service) => {
      const document = openApiDocument(service);
      expect(document['openapi']).toBe('3.1.0');
      const parsed = await SwaggerParser.validate(structuredClone(document) as never);
      expect(Object.keys(parsed.paths ?? {}).length).toBeGreaterThan(0);
    },
    PARSE_TIMEOUT_MS,
  );

  it('a broken document is refused by the parser (the validation is not a no-op)', async () => {
    const broken = structuredClone(openApiDocument('website-api')) as { components: { schemas: object } };
    broken.components.schemas = {};
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/ErrorBody|resolve|token/i);
  });

  it('every catalogued route is in its document with the route schemas', () => {
    for (const service of apiServiceNames) {
      const document = openApiDocument(service);
      const routes = API_CATALOGUE[service].routes.map((r) => ({ method: r.method, url: r.path }));
      expect(undocumentedRoutes(routes, document)).toEqual([]);
    }
    const createWebsite = (
      openApiDocument('website-api') as never as {
        paths: Record<
          string,
          { post: { requestBody: { content: { 'application/json': { schema: { required: string[] } } } } } }
        >;
      }
    ).paths['/api/v1/websites/create']!.post;
    // The input side of CreateWebsiteBody: fields with defaults are optional to send.
    expect(createWebsite.requestBody.content['application/json'].schema.required).toEqual([
      'domains',
      'line_group_id',
    ]);
  });

  it('undocumented - a route missing from the document is reported (negative control)', () => {
    const removed = API_CATALOGUE.cache.routes[1]!;
    const withoutOne = {
      ...API_CATALOGUE,
      cache: { ...API_CATALOGUE.cache, routes: API_CATALOGUE.cache.routes.filter((r) => r !== removed) },
    };
    const routes = API_CATALOGUE.cache.routes.map((r) => ({ method: r.method, url: r.path }));
    expect(undocumentedRoutes(routes, openApiDocument('cache', withoutOne))).toEqual([
      `${removed.method} ${removed.path}`,
    ]);
  });

  it('error answers carry the one error body, by status', () => {
    const document = openApiDocument('informer') as {
      paths: Record<string, Record<string, { responses: Record<string, { content: unknown }> }>>;
    };
    const register = document.paths['/api/v1/clusters/register']!['post']!;
    expect(Object.keys(register.responses)).toEqual([
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '500',
      '503',
    ]);
    expect(register.responses['409']!.content).toMatchObject({
      'application/json': {
        schema: {
          allOf: [
            { $ref: '#/components/schemas/ErrorBody' },
            { properties: { error: { properties: { code: { enum: ['CONFLICT'] } } } } },
          ],
        },
      },
    });
    expect(
      (register.responses['401']!.content as Record<string, { schema: { allOf: unknown[] } }>)[
        'application/json'
      ]!.schema.allOf[1],
    ).toEqual({
      type: 'object',
      properties: {
        error: { type: 'object', properties: { code: { enum: ['UNAUTHORIZED', 'TOKEN_EXPIRED'] } } },
      },
    });
  });

  it('a route with a body documents 413 (too large) and 415 (not JSON) as VALIDATION_FAILED; one without does not', () => {
    const document = openApiDocument('informer') as {
      paths: Record<string, Record<string, { responses: Record<string, { content: unknown }> }>>;
    };
    const register = document.paths['/api/v1/clusters/register']!['post']!;
    for (const status of ['413', '415']) {
      expect(register.responses[status]!.content).toMatchObject({
        'application/json': {
          schema: {
            allOf: [{}, { properties: { error: { properties: { code: { enum: ['VALIDATION_FAILED'] } } } } }],
          },
        },
      });
    }
    const list = document.paths['/api/v1/clusters']!['get']!;
    expect(Object.keys(list.responses)).not.toContain('413');
    expect(Object.keys(list.responses)).not.toContain('415');
  });
});

describe('AsyncAPI document', () => {
  it(
    'the socket protocol and bus document is valid AsyncAPI 3.0 for @asyncapi/parser',
    async () => {
      const document = asyncApiDocument();
      expect(document['asyncapi']).toBe('3.0.0');
      expect(await asyncApiFaults(document)).toEqual([]);
    },
    PARSE_TIMEOUT_MS,
  );

  it(
    'a broken document is refused by the parser (the validation is not a no-op)',
    async () => {
      const broken = structuredClone(asyncApiDocument()) as {
        operations: Record<string, { channel: unknown }>;
      };
      broken.operations['requestWebsites']!.channel = { $ref: '#/channels/nowhere' };
      expect((await asyncApiFaults(broken)).length).toBeGreaterThan(0);
    },
    PARSE_TIMEOUT_MS,
  );

  it('every socket event of the event maps has a message', () => {
    const events = [...Object.keys(clientEventSchemas), ...Object.keys(serverEventSchemas)];
    expect(events).toContain('nodes:removed');
    expect(undocumentedEvents(events, asyncApiDocument())).toEqual([]);
  });

  it('undocumented - an event missing from the document is reported (negative control)', () => {
    const { 'nodes:update': _dropped, ...server } = serverEventSchemas;
    const document = asyncApiDocument({ client: clientEventSchemas, server });
    const events = [...Object.keys(clientEventSchemas), ...Object.keys(serverEventSchemas)];
    expect(undocumentedEvents(events, document)).toEqual(['nodes:update']);
  });

  it('client events are acknowledged with the ack message and name the bus subjects', () => {
    const document = asyncApiDocument() as {
      operations: Record<string, { action: string; reply?: { messages: { $ref: string }[] } }>;
      channels: Record<string, { address: string }>;
    };
    expect(document.operations['subscribeNodes']).toMatchObject({
      action: 'receive',
      reply: { messages: [{ $ref: '#/channels/socket/messages/ack' }] },
    });
    expect(Object.values(document.channels).map((c) => c.address)).toEqual([
      '/socket.io',
      '{prefix}.website.{type}',
      '{prefix}.node.{cluster}.{type}',
      '{prefix}.push.user.{uid}',
      '{prefix}.push.room.{room}',
    ]);
  });
});

describe('committed documents', () => {
  it('docs/openapi/*.json and docs/asyncapi.json are what `npm run docs:api` generates now', () => {
    for (const [path, text] of Object.entries(renderApiDocuments())) {
      expect(readFileSync(join(ROOT, path), 'utf8'), `${path} is stale: run npm run docs:api`).toBe(text);
    }
  });
});

import type { z } from 'zod';
import {
  ALWAYS_POSSIBLE,
  API_CATALOGUE,
  type ApiRoute,
  type ApiService,
  type ApiServiceName,
  HttpErrorBody,
} from './api-catalogue.ts';
import { type JsonSchema, SchemaSet, templatePath } from './api-schema.ts';
import { ERROR_CODES, type ErrorCode, HTTP_STATUS_OF } from './errors.ts';
import { NodeEvent, NodeView } from './nodes.ts';
import { ClusterStatus, ClusterSummary } from './nodes-api.ts';
import { LineGroup, WebsiteEvent, WebsiteItem } from './websites.ts';

/** The version of the HTTP APIs the documents describe (their paths start with `/api/v1`). */
export const API_VERSION = '1.0.0';

/** Contracts shared by several answers, shown once under `components.schemas`. */
const SHARED: Record<string, z.ZodType> = {
  ErrorBody: HttpErrorBody,
  WebsiteItem,
  LineGroup,
  WebsiteEvent,
  NodeView,
  NodeEvent,
  ClusterStatus,
  ClusterSummary,
};

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query', set: SchemaSet): JsonSchema[] {
  if (!schema) return [];
  // Path parameters are always present: their output schema carries the full rule (a coerced id's
  // bounds); query fields are described as sent (defaults make them optional).
  const json = set.of(schema, where === 'path' ? 'output' : 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rule } = property as JsonSchema & { description?: string };
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rule,
    };
  });
}

/** The answer of one error status: the one error body with the codes it carries on a route. */
function errorResponse(codes: ErrorCode[], description: string, message: string): JsonSchema {
  return {
    description,
    content: {
      'application/json': {
        // The one error body, with the codes this status carries on this route.
        schema: {
          allOf: [
            { $ref: '#/components/schemas/ErrorBody' },
            {
              type: 'object',
              properties: { error: { type: 'object', properties: { code: { enum: codes } } } },
            },
          ],
        },
        example: {
          error: {
            code: codes[0],
            message,
            requestId: '6f1c2f9e-8f0a-4d2b-9c51-2a7e3b0d4c11',
          },
        },
      },
    },
  };
}

/** What the HTTP layer refuses before a route with a body runs, with a status of its own. */
const BODY_REFUSALS: Record<number, string> = {
  413: 'The body is larger than the service accepts.',
  415: 'The body is not sent as `application/json` (a form, `text/plain` or no content type).',
};

function errorResponses(route: ApiRoute): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...route.errors, ...ALWAYS_POSSIBLE]) {
    const status = HTTP_STATUS_OF[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = errorResponse(
      codes,
      codes.map((code) => `\`${code}\`: ${ERROR_CODES[code]}`).join('\n\n'),
      ERROR_CODES[codes[0]!],
    );
  }
  if (route.body) {
    for (const [status, meaning] of Object.entries(BODY_REFUSALS))
      responses[status] = errorResponse(['VALIDATION_FAILED'], `\`VALIDATION_FAILED\`: ${meaning}`, meaning);
  }
  return responses;
}

function operationOf(route: ApiRoute, set: SchemaSet): JsonSchema {
  const scopeText = route.scopes?.map((s) => `\`${s}\``).join(' or ');
  const description = [route.description, scopeText ? `Requires scope ${scopeText}.` : undefined]
    .filter(Boolean)
    .join('\n\n');
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(description ? { description } : {}),
    tags: [route.tag],
    ...(route.scopes ? { security: [{ bearer: [...route.scopes] }] } : { security: [] }),
    ...(route.params || route.query
      ? {
          parameters: [
            ...parametersOf(route.params, 'path', set),
            ...parametersOf(route.query, 'query', set),
          ],
        }
      : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: set.of(route.body, 'input') } },
          },
        }
      : {}),
    responses: {
      [String(route.response.status)]: {
        description: route.response.description,
        content: { 'application/json': { schema: set.of(route.response.schema, 'output') } },
      },
      ...errorResponses(route),
    },
  };
}

/** The OpenAPI 3.1 document of one service, generated from its routes in {@link API_CATALOGUE}. */
export function openApiDocument(
  service: ApiServiceName,
  catalogue: Record<ApiServiceName, ApiService> = API_CATALOGUE,
): JsonSchema {
  const api = catalogue[service];
  const set = new SchemaSet('draft-2020-12', '#/components/schemas/', SHARED);
  set.of(HttpErrorBody, 'output');
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of api.routes) {
    const path = templatePath(route.path);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operationOf(route, set);
  }
  const tags = [...new Set(api.routes.map((route) => route.tag))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: api.title,
      version: API_VERSION,
      description: `${api.description}\n\nErrors are \`{ error: { code, message, fields? } }\` with the codes below; clients switch on \`code\`. Default port ${api.port}.`,
    },
    servers: [{ url: '/' }],
    tags,
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A JWT whose `scope` claim holds the scope each operation names.',
        },
      },
      schemas: Object.fromEntries(Object.entries(set.components).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

/** A registered route as the HTTP server reports it. */
export interface RegisteredRoute {
  method: string;
  url: string;
}

/** Routes every service serves that no API document lists: probes, metrics, the documents themselves. */
export function isOperatorRoute(url: string): boolean {
  return (
    url === '/healthz' ||
    url === '/readyz' ||
    url === '/metrics' ||
    url === '/docs' ||
    url.startsWith('/docs/')
  );
}

/**
 * The routes a server registered that `document` does not describe (`HEAD` twins of `GET`
 * routes and {@link isOperatorRoute operator routes} aside), as `METHOD path`.
 */
export function undocumentedRoutes(routes: readonly RegisteredRoute[], document: JsonSchema): string[] {
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, unknown>>;
  const missing: string[] = [];
  for (const { method, url } of routes) {
    if (isOperatorRoute(url)) continue;
    const upper = method.toUpperCase();
    if (upper === 'HEAD' && routes.some((r) => r.url === url && r.method.toUpperCase() === 'GET')) continue;
    if (!paths[templatePath(url)]?.[upper.toLowerCase()]) missing.push(`${upper} ${url}`);
  }
  return [...new Set(missing)].sort();
}

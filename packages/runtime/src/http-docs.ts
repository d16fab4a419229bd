import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** The documents a service describes itself with (generated from packages/contracts). */
export interface ApiDocuments {
  /** OpenAPI 3.1: served at `/docs/openapi.json` and browsable as Swagger UI at `/docs`. */
  openapi?: Record<string, unknown>;
  /** AsyncAPI 3.0 (the socket protocol and the bus): served at `/docs/asyncapi.json`. */
  asyncapi?: Record<string, unknown>;
}

/** A route as the server registered it (`url` in Fastify syntax). */
export interface RouteEntry {
  method: string;
  url: string;
}

const HIDE_EXPLORER_CSS = '.swagger-ui .topbar, .swagger-ui .info hgroup.main > a { display: none; }\n';

const ROUTES = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Starts recording the routes registered on `http` from now on (read them with {@link registeredRoutes}). */
export function recordRoutes(http: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  ROUTES.set(http, routes);
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
}

/** Every route registered on `http` since {@link recordRoutes}, so tests can compare them with the documents. */
export function registeredRoutes(http: FastifyInstance): readonly RouteEntry[] {
  return [...(ROUTES.get(http) ?? [])];
}

/**
 * Serves the service's documents under `/docs`: Swagger UI (static assets of the pinned
 * `@fastify/swagger-ui`, with a Content-Security-Policy) and the JSON documents. The documents
 * hold only schemas, paths and scope names — no hosts, keys or configuration — so they are public
 * like the API they describe; `TIDELINE_HTTP_DOCS_ENABLED=false` turns the whole of `/docs` off.
 */
export async function serveApiDocs(http: FastifyInstance, documents: ApiDocuments): Promise<void> {
  const { openapi, asyncapi } = documents;
  if (openapi) {
    await http.register(fastifySwagger, { mode: 'static', specification: { document: openapi as never } });
    await http.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      uiConfig: { deepLinking: true, displayOperationId: false, tryItOutEnabled: false },
      theme: {
        title: `${String((openapi['info'] as { title?: unknown } | undefined)?.title ?? 'API')} — API`,
        // The UI shows this service's document only: no bar to load another URL, no document URL.
        css: [{ filename: 'tideline.css', content: HIDE_EXPLORER_CSS }],
      },
    });
    http.get('/docs/openapi.json', async () => openapi);
  }
  if (asyncapi) http.get('/docs/asyncapi.json', async () => asyncapi);
}

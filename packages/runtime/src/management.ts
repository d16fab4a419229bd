import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './http-errors.ts';

/** Routes served only on the management listener when one is configured. */
export function isManagementOnly(route: string): boolean {
  return route === '/metrics' || route.startsWith('/internal/');
}

/** Routes the management listener serves: the management-only ones and the probes. */
function isManagementRoute(route: string): boolean {
  return isManagementOnly(route) || route === '/healthz' || route === '/readyz';
}

/**
 * Keeps `/internal/*` and `/metrics` off the public port when enabled: they answer 404 NOT_FOUND
 * there (the body an unknown route gets), and the management listener answers 404 for everything
 * but them, `/healthz` and `/readyz`. The check is on the matched route, so no spelling of a path
 * (percent-escapes, query strings) reaches around it. Disabled, it does nothing: everything is
 * served on the public port.
 */
export class ManagementListener {
  private readonly requests = new WeakSet<IncomingMessage>();
  private server: Server | undefined;

  constructor(
    private readonly http: FastifyInstance,
    readonly enabled: boolean,
  ) {
    if (!enabled) return;
    http.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route === undefined) return;
      const onManagement = this.requests.has(request.raw);
      if (onManagement ? isManagementRoute(route) : !isManagementOnly(route)) return;
      return sendError(reply, 'NOT_FOUND', `no route ${request.method} ${pathOf(request)}`);
    });
  }

  /** Starts serving the service's routes on `host:port` too (after the public listener is up); resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await this.http.ready();
    const server = createServer((request, response) => {
      this.requests.add(request);
      this.http.routing(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Stops accepting, closes idle connections and waits for the open ones. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?', 1)[0]!;
}

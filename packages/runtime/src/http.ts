import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.ts';

export interface HttpServerOptions {
  logger: Logger;
  metrics: Registry;
  readiness: Readiness;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
}

/**
 * The HTTP server of a service, with `GET /healthz` (alive), `GET /readyz` (ready to take
 * traffic) and `GET /metrics` (Prometheus text format) already routed.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const http = Fastify({
    loggerInstance: options.logger,
    disableRequestLogging: true,
    bodyLimit: options.bodyLimitBytes,
    forceCloseConnections: 'idle',
  });
  const operatorPaths = new Set(['/healthz', '/readyz', '/metrics']);
  http.addHook('onRequest', async (request, reply) => {
    if (!options.readiness.isStopping || operatorPaths.has(request.url.split('?', 1)[0]!)) return;
    reply.header('connection', 'close');
    return reply.code(503).send({
      error: { code: 'UNAVAILABLE', message: 'the service is stopping; retry on another instance' },
    });
  });
  http.get('/healthz', async () => ({ status: 'ok' }));
  http.get('/readyz', async (_request, reply) => {
    const report = await options.readiness.report();
    return reply
      .code(report.ready ? 200 : 503)
      .send({ status: report.ready ? 'ready' : 'not-ready', ...report });
  });
  http.get('/metrics', async (_request, reply) => {
    return reply.type(options.metrics.contentType).send(await options.metrics.metrics());
  });
  return http as unknown as FastifyInstance;
}

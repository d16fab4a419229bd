import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { acceptJsonBodiesOnly, frameworkErrorOptions, sendError } from './http-errors.ts';
import { httpRequestDuration, readinessGauge } from './metrics.ts';
import type { Readiness } from './readiness.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';

export interface HttpServerOptions {
  logger: Logger;
  metrics: Registry;
  readiness: Readiness;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
}

/** Requests being answered, so a stop can wait for them before closing what they use. */
export interface InFlightRequests {
  /** Resolves once no request is running, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

/** Counts requests other than the operator endpoints from arrival to the end of the response. */
export function trackInFlight(http: FastifyInstance, operatorPaths: ReadonlySet<string>): InFlightRequests {
  let running = 0;
  const waiters = new Set<() => void>();
  http.addHook('onRequest', async (request, reply) => {
    if (operatorPaths.has(request.url.split('?', 1)[0]!)) return;
    running++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      running--;
      if (running === 0) for (const wake of waiters) wake();
    };
    reply.raw.once('finish', finish);
    reply.raw.once('close', finish);
  });
  return {
    idle: (timeoutMs) =>
      running === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const wake = () => {
              clearTimeout(timer);
              waiters.delete(wake);
              resolve();
            };
            const timer = setTimeout(wake, timeoutMs);
            waiters.add(wake);
          }),
  };
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Observes every answered request (public and management listener alike) in
 * `tideline_http_request_duration_seconds`. Labels stay low-cardinality whatever a client sends:
 * the route is the matched template (`/api/v1/websites/:id`) or `unmatched`, an unusual method is
 * `other`, and the status is a three-digit code.
 */
export function observeRequestDurations(http: FastifyInstance, metrics: Registry): void {
  const histogram = httpRequestDuration(metrics);
  http.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    histogram.observe(
      {
        method: KNOWN_METHODS.has(request.method) ? request.method : 'other',
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${Math.floor(status / 100)}xx`,
        status_code: String(status),
      },
      reply.elapsedTime / 1000,
    );
  });
}

/**
 * The HTTP server of a service, with `GET /healthz` (alive), `GET /readyz` (ready to take
 * traffic) and `GET /metrics` (Prometheus text format) already routed.
 */
export function createHttpServer(
  options: HttpServerOptions,
): FastifyInstance & { inFlight: InFlightRequests } {
  const http = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    forceCloseConnections: 'idle',
    // Every request's id (`reqId` in its log lines): the caller's x-request-id when safe, else a UUID.
    requestIdHeader: false,
    genReqId: requestIdOf,
    ...frameworkErrorOptions(),
  });
  acceptJsonBodiesOnly(http as unknown as FastifyInstance);
  http.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  const operatorPaths = new Set(['/healthz', '/readyz', '/metrics']);
  http.addHook('onRequest', async (request, reply) => {
    if (!options.readiness.isStopping || operatorPaths.has(request.url.split('?', 1)[0]!)) return;
    reply.header('connection', 'close');
    return sendError(reply, 'UNAVAILABLE', 'the service is stopping; retry on another instance');
  });
  const inFlight = trackInFlight(http as unknown as FastifyInstance, operatorPaths);
  observeRequestDurations(http as unknown as FastifyInstance, options.metrics);
  readinessGauge(options.metrics, options.readiness);
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
  return Object.assign(http as unknown as FastifyInstance, { inFlight });
}

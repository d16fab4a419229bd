import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TRACER_NAME } from './tracing.ts';

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * One SERVER span per HTTP request (except the operator endpoints), a child of the caller's
 * `traceparent` when it sent one, named by method and route (`POST /api/v1/websites/create`,
 * never the raw URL: ids stay out of span names). The handler runs inside it, so the spans of the
 * work it does (database statements, publishes, calls) are its children.
 * Installed only when tracing is on.
 */
export function traceHttpRequests(http: FastifyInstance, operatorPaths: ReadonlySet<string>): void {
  const tracer = trace.getTracer(TRACER_NAME);
  http.addHook('onRequest', (request, _reply, done) => {
    if (operatorPaths.has(request.url.split('?', 1)[0]!)) return done();
    const parent = propagation.extract(context.active(), request.headers);
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          'url.path': request.url.split('?', 1)[0]!,
        },
      },
      parent,
    );
    spans.set(request, span);
    context.with(trace.setSpan(parent, span), done);
  });
  // The body was read on socket events, outside the request's context: enter it again for the handler.
  http.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (!span) return done();
    context.with(trace.setSpan(context.active(), span), done);
  });
  http.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      spans.delete(request);
    }
    done();
  });
}

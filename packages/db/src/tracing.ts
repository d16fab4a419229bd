import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type pg from 'pg';

const TRACER_NAME = 'tideline';

/** True once the service started OpenTelemetry (see @tideline/runtime `startTracing`). */
function tracingOn(): boolean {
  return propagation.fields().length > 0;
}

function statementText(args: unknown[]): string {
  const first = args[0];
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object' && typeof (first as { text?: unknown }).text === 'string')
    return (first as { text: string }).text;
  return '';
}

/**
 * One CLIENT span per SQL statement on every connection of `pool` (Prisma's queries, the relay's,
 * transaction control) run inside a trace, a child of the active span: named by its first keyword,
 * with the parameterised SQL text (never the values) as `db.query.text`. Does nothing unless
 * tracing is on when the pool is created.
 */
export function traceStatements(pool: pg.Pool, database: string): void {
  if (!tracingOn()) return;
  const tracer = trace.getTracer(TRACER_NAME);
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      // Statements outside any trace (readiness pings, idle background passes) are not recorded:
      // they would each start a trace of their own.
      const parent = context.active();
      if (!trace.getSpan(parent)) return query(...args);
      const text = statementText(args);
      const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
      const span = tracer.startSpan(
        operation,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'postgresql',
            'db.namespace': database,
            'db.operation.name': operation,
            'db.query.text': text.length > 2048 ? `${text.slice(0, 2048)}…` : text,
          },
        },
        parent,
      );
      const fail = (error: Error) => {
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      };
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        // The callback form (pg's Pool.query uses it).
        args[args.length - 1] = (error: Error | null, ...rest: unknown[]) => {
          if (error) fail(error);
          span.end();
          return (last as (...a: unknown[]) => unknown)(error, ...rest);
        };
        return query(...args);
      }
      const result = query(...args) as Promise<unknown> | undefined;
      if (!result || typeof result.then !== 'function') {
        span.end();
        return result;
      }
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (error: Error) => {
          fail(error);
          span.end();
          throw error;
        },
      );
    };
  });
}

import { redactCredentials } from '@tideline/config';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Readiness } from './readiness.ts';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A registry whose Prometheus text never carries a credential: a label value (or help text) that
 * holds a URL with userinfo, a credential query parameter, a bearer token or a JWT is exposed
 * with the credential replaced by `***`.
 */
class RedactingRegistry extends Registry {
  override async metrics(): Promise<string> {
    return redactCredentials(await super.metrics());
  }
}

/**
 * A registry per service instance (not the global one), so several services can run in one
 * process in tests. Tideline's own metrics start with `tideline_`; the default process and
 * Node.js metrics keep their conventional names (`process_resident_memory_bytes`,
 * `nodejs_eventloop_lag_seconds`, `nodejs_gc_duration_seconds`, …) so stock dashboards work.
 */
export function createMetrics(service: string): Registry {
  const registry = new RedactingRegistry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Buckets of request and operation durations, in seconds (1 ms … 10 s). */
export const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The HTTP request duration histogram of a service, labelled by method, route template and status. */
export function httpRequestDuration(
  registry: Registry,
): Histogram<'method' | 'route' | 'status_class' | 'status_code'> {
  const existing = registry.getSingleMetric('tideline_http_request_duration_seconds');
  if (existing) return existing as Histogram<'method' | 'route' | 'status_class' | 'status_code'>;
  return new Histogram({
    name: 'tideline_http_request_duration_seconds',
    help: 'HTTP requests from arrival to the end of the response, by method, route template (never the raw URL; `unmatched` for unknown paths), status class and status code.',
    labelNames: ['method', 'route', 'status_class', 'status_code'] as const,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
}

/** `tideline_service_ready`: 1 while the service answers /readyz with 200, else 0; evaluated on scrape. */
export function readinessGauge(registry: Registry, readiness: Readiness): void {
  new Gauge({
    name: 'tideline_service_ready',
    help: '1 while the service is ready to take traffic (what GET /readyz answers with 200), else 0; evaluated on scrape.',
    registers: [registry],
    async collect() {
      this.set((await readiness.report()).ready ? 1 : 0);
    },
  });
}

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

/**
 * The readiness series of a service, evaluated on scrape: `tideline_service_ready` (what GET
 * /readyz answers) and `tideline_readiness_check{check,gating}` (each check's own answer). Both
 * read the same `readiness.report()`: one scrape runs every check once, and the two never disagree.
 */
export function readinessGauge(registry: Registry, readiness: Readiness): void {
  // prom-client collects a scrape's metrics concurrently: the gauges share one report in flight.
  const report = sharedWhileInFlight(() => readiness.report());
  new Gauge({
    name: 'tideline_service_ready',
    help: '1 while the service is ready to take traffic (what GET /readyz answers with 200), else 0; evaluated on scrape.',
    registers: [registry],
    async collect() {
      this.set((await report()).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tideline_readiness_check',
    help: '1 while the readiness check passes, else 0, by check name (`started`, `accepting` and the dependencies a service registers; names come from code only, never from requests, so the set is small and fixed) and gating ("true": it gates GET /readyz, listed under `checks`; "false": reported under `observed` only); evaluated on scrape.',
    labelNames: ['check', 'gating'] as const,
    registers: [registry],
    async collect() {
      const { checks, observed = {} } = await report();
      this.reset();
      for (const [check, passed] of Object.entries(checks))
        this.set({ check, gating: 'true' }, passed ? 1 : 0);
      for (const [check, passed] of Object.entries(observed))
        this.set({ check, gating: 'false' }, passed ? 1 : 0);
    },
  });
}

/** `run`, except that calls made while its promise is pending get that same promise. */
function sharedWhileInFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    inFlight ??= run().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

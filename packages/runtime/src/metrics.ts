import { redactCredentials } from '@tideline/config';
import { collectDefaultMetrics, Registry } from 'prom-client';

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
 * process in tests. Process metrics are included; every metric name starts with `tideline_`.
 */
export function createMetrics(service: string): Registry {
  const registry = new RedactingRegistry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'tideline_' });
  return registry;
}

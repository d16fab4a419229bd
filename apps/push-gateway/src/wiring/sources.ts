import { ServiceTokenSource, serviceJwtSecretOf } from '@tideline/auth';
import { CacheNodesSource } from '../adapters/cache-source.ts';
import { InternalHttpClient } from '../adapters/internal-http.ts';
import { BREAKER_STATE_VALUE, SourceBreaker, type SourceDependency } from '../adapters/source-breaker.ts';
import { WebsiteApiSource } from '../adapters/website-api-source.ts';
import type { PushGatewayConfig } from '../config.ts';
import type { NodesSource, WebsitesSource } from '../domain/ports.ts';
import type { GatewayMetrics } from '../metrics.ts';

export interface Sources {
  websites: WebsitesSource;
  nodes: NodesSource;
}

/**
 * Where snapshots and replays come from: the given sources, else website-api's and the cache's
 * internal HTTP endpoints, called with this gateway's service token and counted per outcome, each
 * behind its own circuit breaker (state and refusals as metrics).
 */
export function sourcesOf(
  config: PushGatewayConfig,
  service: string,
  metrics: GatewayMetrics,
  given: Partial<Sources>,
): Sources {
  if (given.websites && given.nodes) return { websites: given.websites, nodes: given.nodes };
  const tokens = new ServiceTokenSource({
    configured: config.serviceToken,
    secret: serviceJwtSecretOf(config),
    service,
    issuer: config.jwtIssuer,
    audience: config.serviceJwtAudience,
    lifetimeSeconds: config.serviceTokenLifetimeSeconds,
  });
  const client = (baseUrl: string, source: SourceDependency) =>
    new InternalHttpClient({
      breaker: new SourceBreaker({
        dependency: source,
        failureThreshold: config.gatewayBreakerFailureThreshold,
        halfOpenAfterMs: config.gatewayBreakerHalfOpenAfterMs,
        onStateChange: (state) =>
          metrics.breakerState.set({ dependency: source }, BREAKER_STATE_VALUE[state]),
        onRejected: () => metrics.breakerRejections.inc({ dependency: source }),
      }),
      baseUrl,
      token: () => tokens.get(),
      timeoutMs: config.gatewaySourceTimeoutMs,
      onResponse: (path, outcome) =>
        metrics.sourceRequests.inc({
          source,
          kind: path.endsWith('/snapshot') ? 'snapshot' : 'replay',
          outcome,
        }),
    });
  return {
    websites: given.websites ?? new WebsiteApiSource(client(config.websiteApiUrl, 'website-api')),
    nodes: given.nodes ?? new CacheNodesSource(client(config.cacheUrl, 'cache')),
  };
}

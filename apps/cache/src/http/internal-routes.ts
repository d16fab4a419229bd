import type { TokenVerifier } from '@tideline/auth';
import { ClusterParams, INTERNAL_PATHS, INTERNAL_SCOPE, ReplayQuery } from '@tideline/contracts';
import { requirePrincipal, validate } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type { NodeReadModel } from '../domain/read-model.ts';
import { requireCaughtUp } from './caught-up.ts';

/**
 * Service-to-service endpoints for the push-gateway (scope `internal`): a cluster's snapshot
 * (404 NOT_FOUND when the cluster is not registered) and the replay of its events after an id;
 * 503 UNAVAILABLE while the read model is still being rebuilt.
 */
export function registerInternalRoutes(
  http: FastifyInstance,
  options: { model: NodeReadModel; caughtUp: () => boolean; verifier: TokenVerifier },
): void {
  const internal = [
    requirePrincipal(options.verifier, (p) => p.scopes.has(INTERNAL_SCOPE), `scope ${INTERNAL_SCOPE}`),
    requireCaughtUp(options.caughtUp),
  ];

  http.get(INTERNAL_PATHS.nodesSnapshot(':cluster'), { preHandler: internal }, async (request) => {
    const { cluster } = validate(ClusterParams, request.params, 'path');
    return options.model.snapshot(cluster);
  });

  http.get(INTERNAL_PATHS.nodesEvents(':cluster'), { preHandler: internal }, async (request) => {
    const { cluster } = validate(ClusterParams, request.params, 'path');
    const { after, limit } = validate(ReplayQuery, request.query, 'query');
    return options.model.replay(cluster, after, limit);
  });
}

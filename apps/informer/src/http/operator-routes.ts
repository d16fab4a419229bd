import { SCOPES, type TokenVerifier } from '@tideline/auth';
import { type ClusterStatuses, OPERATOR_API } from '@tideline/contracts';
import { requirePrincipal } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type { ClusterRegistry } from '../cluster-registry.ts';

/** Each cluster's state, owner, last event and lease for the operator view (scope `operator:read`, read-only). */
export function registerOperatorRoutes(
  http: FastifyInstance,
  options: { registry: ClusterRegistry; verifier: TokenVerifier },
): void {
  const operator = requirePrincipal(
    options.verifier,
    (p) => p.scopes.has(SCOPES.operatorRead),
    `scope ${SCOPES.operatorRead}`,
  );
  http.get(
    OPERATOR_API.informerClusters,
    { preHandler: operator },
    async (): Promise<ClusterStatuses> => ({ data: options.registry.statuses() }),
  );
}

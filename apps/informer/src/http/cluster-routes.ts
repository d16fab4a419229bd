import { hasScope, SCOPES, type TokenVerifier } from '@tideline/auth';
import { CLUSTERS_ADMIN_API, RegisterClusterBody, UnregisterClusterBody } from '@tideline/contracts';
import { requirePrincipal, validate } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type { ClusterRegistry } from '../cluster-registry.ts';

/**
 * Cluster administration (scope `clusters:admin`): list, register, unregister. Refusals answer
 * with the code their error carries (ClusterRegistryError, KubeconfigError).
 */
export function registerClusterRoutes(
  http: FastifyInstance,
  options: { registry: ClusterRegistry; verifier: TokenVerifier },
): void {
  const admin = requirePrincipal(
    options.verifier,
    (p) => hasScope(p, SCOPES.clustersAdmin),
    `scope ${SCOPES.clustersAdmin}`,
  );

  http.get(CLUSTERS_ADMIN_API.list, { preHandler: admin }, async () => ({
    data: options.registry.statuses(),
  }));

  http.post(CLUSTERS_ADMIN_API.register, { preHandler: admin }, async (request, reply) => {
    const body = validate(RegisterClusterBody, request.body, 'body');
    const source =
      body.kubeconfig !== undefined
        ? { text: body.kubeconfig, context: body.context }
        : { path: body.kubeconfigPath!, context: body.context };
    const status = await options.registry.register(body.name, source, 'api');
    return reply.code(201).send({ data: status });
  });

  http.post(CLUSTERS_ADMIN_API.unregister, { preHandler: admin }, async (request) => {
    const body = validate(UnregisterClusterBody, request.body, 'body');
    return { data: await options.registry.unregister(body.name) };
  });
}

import { SCOPES, type TokenVerifier } from '@tideline/auth';
import { OPERATOR_API, ServiceParams, UidParams } from '@tideline/contracts';
import { HttpError, requirePrincipal, validate } from '@tideline/runtime';
import { StatefulError, type StatefulExecutor } from '@tideline/stateful';
import type { FastifyInstance } from 'fastify';

async function read<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StatefulError && error.code === 'UNAVAILABLE')
      throw new HttpError('UNAVAILABLE', `the stateful store is unavailable: ${error.message}`);
    if (error instanceof StatefulError && error.code === 'BAD_REQUEST')
      throw new HttpError('VALIDATION_FAILED', error.message);
    throw error;
  }
}

/** Operator reads of the stateful executor (scope `operator:read`): a uid's links, a service's pods. */
export function registerOperatorRoutes(
  http: FastifyInstance,
  options: { executor: StatefulExecutor; namespace: string; verifier: TokenVerifier },
): void {
  const operator = requirePrincipal(
    options.verifier,
    (p) => p.scopes.has(SCOPES.operatorRead),
    `scope ${SCOPES.operatorRead}`,
  );
  const { executor, namespace } = options;

  http.get(OPERATOR_API.userLinks(':uid'), { preHandler: operator }, async (request) => {
    const { uid } = validate(UidParams, request.params, 'path');
    const links = await read(() => executor.getLinkService(namespace, uid));
    return { data: { uid, links: Object.fromEntries(links) } };
  });

  http.get(OPERATOR_API.servicePods(':service'), { preHandler: operator }, async (request) => {
    const { service } = validate(ServiceParams, request.params, 'path');
    const pods = await read(() => executor.getServiceState(namespace, service));
    return { data: { service, pods: Object.fromEntries(pods) } };
  });
}

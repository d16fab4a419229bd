import { canReadCluster, SCOPES, type TokenVerifier } from '@tideline/auth';
import { ClusterParams, ListNodesQuery, NODES_API, NodeParams } from '@tideline/contracts';
import { HttpError, requirePrincipal, validate } from '@tideline/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseLabelSelector } from '../domain/label-selector.ts';
import type { NodeReadModel } from '../domain/read-model.ts';
import { requireCaughtUp } from './caught-up.ts';

export interface NodeRoutesOptions {
  model: NodeReadModel;
  /** True once the model caught up with the bus; before, queries answer UNAVAILABLE. */
  caughtUp: () => boolean;
  verifier: TokenVerifier;
  pageSizeDefault: number;
  pageSizeMax: number;
}

const readsAnyCluster = (scopes: ReadonlySet<string>) =>
  scopes.has(SCOPES.nodesRead) || [...scopes].some((s) => s.startsWith(`${SCOPES.nodesRead}:`));

/**
 * Public node queries: scope `nodes:read` reads every cluster, `nodes:read:<cluster>` that
 * cluster only. Every answer carries the `lastEventId` it reflects. An unregistered cluster
 * answers NOT_FOUND and a malformed label selector VALIDATION_FAILED (the codes their errors carry).
 */
export function registerNodeRoutes(http: FastifyInstance, options: NodeRoutesOptions): void {
  const { model, verifier } = options;
  const caughtUp = requireCaughtUp(options.caughtUp);
  const anyCluster = [
    requirePrincipal(verifier, (p) => readsAnyCluster(p.scopes), `scope ${SCOPES.nodesRead}[:<cluster>]`),
    caughtUp,
  ];
  const thisCluster = [
    requirePrincipal(
      verifier,
      (p, request: FastifyRequest) =>
        canReadCluster(p, String((request.params as { cluster?: unknown }).cluster ?? '')),
      `scope ${SCOPES.nodesRead} or ${SCOPES.nodesReadCluster('<cluster>')}`,
    ),
    caughtUp,
  ];

  http.get(NODES_API.clusters, { preHandler: anyCluster }, async (request) => {
    const principal = request.principal!;
    const data = model
      .clusterNames()
      .filter((cluster) => canReadCluster(principal, cluster))
      .map((cluster) => model.summary(cluster));
    return { data };
  });

  http.get(NODES_API.nodes(':cluster'), { preHandler: thisCluster }, async (request) => {
    const { cluster } = validate(ClusterParams, request.params, 'path');
    const query = validate(ListNodesQuery, request.query, 'query');
    const pageSize = query.page_size ?? options.pageSizeDefault;
    if (pageSize > options.pageSizeMax) {
      throw new HttpError('VALIDATION_FAILED', `page_size must be at most ${options.pageSizeMax}`, [
        { path: 'page_size', message: `at most ${options.pageSizeMax}` },
      ]);
    }
    const selector = query.labelSelector === undefined ? undefined : parseLabelSelector(query.labelSelector);
    const page = model.list(
      cluster,
      { selector, schedulable: query.schedulable, ready: query.ready },
      (query.page - 1) * pageSize,
      pageSize,
    );
    return {
      cluster,
      data: page.items,
      total: page.total,
      page: query.page,
      page_size: pageSize,
      lastEventId: page.lastEventId,
    };
  });

  http.get(NODES_API.node(':cluster', ':name'), { preHandler: thisCluster }, async (request) => {
    const { cluster, name } = validate(NodeParams, request.params, 'path');
    const { node, lastEventId } = model.node(cluster, name);
    if (!node)
      throw new HttpError(
        'NOT_FOUND',
        `node ${name} is not in cluster ${cluster} (as of event ${lastEventId})`,
      );
    return { cluster, data: node, lastEventId };
  });
}

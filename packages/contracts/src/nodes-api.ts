import { z } from 'zod';
import { ClusterName, NodeView } from './nodes.ts';

/**
 * HTTP paths of the node read model (apps/cache, port 3002) and of cluster administration
 * (apps/informer, port 3003). JSON, `Authorization: Bearer <JWT>`; errors are
 * `{ error: { code, message, fields? } }` with the codes of errors.ts.
 */
export const NODES_API = {
  /** cache, scope `nodes:read` (all clusters) or `nodes:read:<cluster>` (those clusters only) → ClusterSummaries. */
  clusters: '/api/v1/clusters',
  /** cache, `?labelSelector=&schedulable=&ready=&page=&page_size=` → NodesPage. */
  nodes: (cluster: string) => `/api/v1/clusters/${cluster}/nodes`,
  /** cache → NodeAnswer. */
  node: (cluster: string, name: string) => `/api/v1/clusters/${cluster}/nodes/${name}`,
} as const;

export const CLUSTERS_ADMIN_API = {
  /** informer, scope `clusters:admin` → ClusterStatuses. */
  list: '/api/v1/clusters',
  /** informer, scope `clusters:admin`, body RegisterClusterBody → 201 { data: ClusterStatus }. */
  register: '/api/v1/clusters/register',
  /** informer, scope `clusters:admin`, body UnregisterClusterBody → { data: { name, lastEventId } }. */
  unregister: '/api/v1/clusters/unregister',
} as const;

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * The largest `page_size` a node list accepts whatever the cache's settings; larger is refused with
 * VALIDATION_FAILED. The cache's `TIDELINE_CACHE_PAGE_SIZE_MAX` (at most this) may cap it lower.
 */
export const NODES_PAGE_SIZE_MAX = 100_000;

/**
 * Filters and page of a node list. `labelSelector` uses Kubernetes syntax (`a=b`, `a!=b`, `a`,
 * `!a`, `a in (x,y)`, `a notin (x,y)`, comma = and). Absent `page_size` takes the cache's default.
 */
export const ListNodesQuery = z
  .object({
    labelSelector: z.string().max(4096).optional(),
    schedulable: booleanQuery.optional(),
    ready: booleanQuery.optional(),
    page: z.coerce.number().int().min(1).default(1),
    page_size: z.coerce.number().int().min(1).max(NODES_PAGE_SIZE_MAX).optional(),
  })
  .strict();
export type ListNodesQuery = z.infer<typeof ListNodesQuery>;

/** One page of the nodes of a cluster that match the filters, exactly as of `lastEventId`. */
export const NodesPage = z.object({
  cluster: ClusterName,
  data: z.array(NodeView),
  total: z.number().int().nonnegative(),
  page: z.number().int().positive(),
  page_size: z.number().int().positive(),
  lastEventId: z.number().int().nonnegative(),
});
export type NodesPage = z.infer<typeof NodesPage>;

export const NodeAnswer = z.object({
  cluster: ClusterName,
  data: NodeView,
  lastEventId: z.number().int().nonnegative(),
});
export type NodeAnswer = z.infer<typeof NodeAnswer>;

/** Counts of one cluster's nodes as of `lastEventId`. */
export const ClusterSummary = z.object({
  cluster: ClusterName,
  nodes: z.number().int().nonnegative(),
  ready: z.number().int().nonnegative(),
  notReady: z.number().int().nonnegative(),
  unschedulable: z.number().int().nonnegative(),
  lastEventId: z.number().int().nonnegative(),
});
export type ClusterSummary = z.infer<typeof ClusterSummary>;

export const ClusterSummaries = z.object({ data: z.array(ClusterSummary) });
export type ClusterSummaries = z.infer<typeof ClusterSummaries>;

export const KUBECONFIG_MAX_BYTES = 1_048_576;

/**
 * Registers a cluster with the informer: its kubeconfig as text (`kubeconfig`) or as a path on the
 * informer's filesystem (`kubeconfigPath`), exactly one of them; `context` defaults to the
 * kubeconfig's current context. The informer accepts only inline credentials in a kubeconfig that
 * arrives this way, and refuses `kubeconfigPath`, unless its operator allows exec plugins and file
 * references (`TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES`).
 */
export const RegisterClusterBody = z
  .object({
    name: ClusterName,
    kubeconfig: z.string().min(1).max(KUBECONFIG_MAX_BYTES).optional(),
    kubeconfigPath: z.string().min(1).max(4096).optional(),
    context: z.string().min(1).max(253).optional(),
  })
  .strict()
  .refine((b) => (b.kubeconfig === undefined) !== (b.kubeconfigPath === undefined), {
    message: 'give exactly one of kubeconfig and kubeconfigPath',
    path: ['kubeconfig'],
  });
export type RegisterClusterBody = z.infer<typeof RegisterClusterBody>;

export const UnregisterClusterBody = z.object({ name: ClusterName }).strict();
export type UnregisterClusterBody = z.infer<typeof UnregisterClusterBody>;

/**
 * What the informer knows of one cluster. `state`: `starting` (before the first list),
 * `watching` (listed and watching), `retrying` (the API server failed; retrying with backoff),
 * `orphaned` (events of this cluster are on the bus but it is not registered in this process).
 */
export const ClusterStatus = z.object({
  name: ClusterName,
  source: z.enum(['config', 'api', 'bus']),
  /** `standby`: with several informer replicas, another replica runs the cluster (see `owner`). */
  state: z.enum(['starting', 'watching', 'retrying', 'orphaned', 'standby']),
  /** True once a first list completed since registration. */
  synced: z.boolean(),
  nodes: z.number().int().nonnegative(),
  lastEventId: z.number().int().nonnegative(),
  /** Restarts of the watch by the informer (errors, stalls), lists (initial, 410, resync). */
  restarts: z.number().int().nonnegative(),
  lists: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  lastSyncAt: z.string().optional(),
  /** With several informer replicas: the replica that holds the cluster's lease and publishes it. */
  owner: z.string().optional(),
  /** With several informer replicas: when that lease ends unless renewed (ISO 8601). */
  leaseExpiresAt: z.string().optional(),
});
export type ClusterStatus = z.infer<typeof ClusterStatus>;

export const ClusterStatuses = z.object({ data: z.array(ClusterStatus) });
export type ClusterStatuses = z.infer<typeof ClusterStatuses>;

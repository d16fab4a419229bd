import { z } from 'zod';
import { type ErrorCode, errorCodes } from './errors.ts';
import { INTERNAL_PATHS, INTERNAL_SCOPE, NodesReplay, NodesSnapshot, ReplayQuery } from './internal-api.ts';
import { ClusterName, NodeName } from './nodes.ts';
import {
  CLUSTERS_ADMIN_API,
  ClusterStatus,
  ClusterStatuses,
  ClusterSummaries,
  ListNodesQuery,
  NODES_API,
  NodeAnswer,
  NodesPage,
  RegisterClusterBody,
  UnregisterClusterBody,
} from './nodes-api.ts';
import {
  DeadLettersAnswer,
  DeadLettersQuery,
  GatewayOperatorAnswer,
  OPERATOR_API,
  RelayOperatorAnswer,
  ServicePodsAnswer,
  UserLinksAnswer,
} from './operator-api.ts';
import { StatefulServiceName, StatefulUid } from './stateful.ts';
import {
  CreateLineGroupBody,
  CreateWebsiteBody,
  DeleteWebsiteBody,
  Id,
  LineGroup,
  ListWebsitesQuery,
  UpdateWebsiteBody,
  WebsiteDeleted,
  WebsiteItem,
  WebsitesReplay,
  WebsitesSnapshot,
} from './websites.ts';

// ---- the one error body ------------------------------------------------------------------------

/** The body of every refused HTTP request: `{ error: { code, message, fields?, requestId } }`. */
export const HttpErrorBody = z.object({
  error: z.object({
    code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    /** The offending fields, when the input was at fault. */
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    /**
     * The id of the refused request, also in the `x-request-id` response header and in every log
     * line of the request (`reqId`): the caller's own `x-request-id` when it was 1–128 characters
     * of `A-Za-z0-9._-`, else one the service generated. Quote it when reporting an error.
     */
    requestId: z.string(),
  }),
});
export type HttpErrorBody = z.infer<typeof HttpErrorBody>;

// ---- path parameters ---------------------------------------------------------------------------
// The routes' path schemas, shared here so the documents describe what the routes validate.

export const WebsitePath = z.object({ id: z.coerce.number().pipe(Id) });
export const ClusterParams = z.object({ cluster: ClusterName }).strict();
export const NodeParams = z.object({ cluster: ClusterName, name: NodeName }).strict();
export const UidParams = z.object({ uid: StatefulUid }).strict();
export const ServiceParams = z.object({ service: StatefulServiceName }).strict();

// ---- answers -----------------------------------------------------------------------------------

export const LineGroupAnswer = z.object({ data: LineGroup });
export const LineGroupsAnswer = z.object({ data: z.array(LineGroup) });
export const WebsiteAnswer = z.object({ data: WebsiteItem });
export const WebsiteDeletedAnswer = z.object({ data: WebsiteDeleted });
export const WebsitesPage = z.object({
  data: z.array(WebsiteItem),
  total: z.number().int().nonnegative(),
  page: z.number().int().positive(),
  page_size: z.number().int().positive(),
});
export const ClusterStatusAnswer = z.object({ data: ClusterStatus });
export const ClusterUnregisteredAnswer = z.object({
  data: z.object({ name: ClusterName, lastEventId: z.number().int().nonnegative() }),
});

// ---- the catalogue -----------------------------------------------------------------------------

export type HttpMethod = 'GET' | 'POST';

/** One HTTP route of a service, described by the schemas it validates with. */
export interface ApiRoute {
  method: HttpMethod;
  /** Fastify syntax: `/api/v1/websites/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Scopes of which the bearer token must hold one (`null`: no token needed). */
  scopes: readonly string[] | null;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: { status: 200 | 201; schema: z.ZodType; description: string };
  /** The codes this route may answer with, besides those every route may (UNAVAILABLE, INTERNAL). */
  errors: readonly ErrorCode[];
}

export interface ApiService {
  title: string;
  description: string;
  /** Default listen port (a hint for readers; the document's server is relative). */
  port: number;
  routes: readonly ApiRoute[];
}

export type ApiServiceName = 'website-api' | 'cache' | 'informer' | 'push-gateway';

/** Codes every route may answer with: the service is stopping or a dependency is down; a bug. */
export const ALWAYS_POSSIBLE: readonly ErrorCode[] = ['UNAVAILABLE', 'INTERNAL'];

const AUTH: readonly ErrorCode[] = ['UNAUTHORIZED', 'TOKEN_EXPIRED', 'FORBIDDEN'];
const NODES_READ = ['nodes:read', 'nodes:read:<cluster>'] as const;

const websiteApi: ApiService = {
  title: 'Tideline website-api',
  description:
    "Websites, domains and line groups (`/api/v1`), and the push-gateways' snapshot and replay of the websites event log (`/internal/v1`, scope `internal`). Every change is written to the event log in the same transaction and pushed to browsers.",
  port: 3001,
  routes: [
    {
      method: 'GET',
      path: OPERATOR_API.relay,
      operationId: 'operatorRelay',
      summary: 'How far the relay is behind the event log (operator view)',
      tag: 'operator',
      scopes: ['operator:read'],
      response: {
        status: 200,
        schema: RelayOperatorAnswer,
        description: 'Committed and published event ids, the lag in events and in seconds, the lease.',
      },
      errors: [...AUTH, 'UNAVAILABLE'],
    },
    {
      method: 'POST',
      path: '/api/v1/line-groups/create',
      operationId: 'createLineGroup',
      summary: 'Create a line group',
      tag: 'line groups',
      scopes: ['websites:write'],
      body: CreateLineGroupBody,
      response: { status: 201, schema: LineGroupAnswer, description: 'The line group created.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'CONFLICT', 'RATE_LIMITED'],
    },
    {
      method: 'GET',
      path: '/api/v1/line-groups',
      operationId: 'listLineGroups',
      summary: 'List line groups',
      tag: 'line groups',
      scopes: ['websites:read'],
      response: { status: 200, schema: LineGroupsAnswer, description: 'Every line group.' },
      errors: [...AUTH],
    },
    {
      method: 'POST',
      path: '/api/v1/websites/create',
      operationId: 'createWebsite',
      summary: 'Create a website',
      description: 'The first domain is the primary one. Emits `websites:update` (`add`) to browsers.',
      tag: 'websites',
      scopes: ['websites:write'],
      body: CreateWebsiteBody,
      response: { status: 201, schema: WebsiteAnswer, description: 'The website created.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED'],
    },
    {
      method: 'POST',
      path: '/api/v1/websites/update',
      operationId: 'updateWebsite',
      summary: 'Change a website',
      description: 'Only the fields given change. Emits `websites:update` (`update`) to browsers.',
      tag: 'websites',
      scopes: ['websites:write'],
      body: UpdateWebsiteBody,
      response: { status: 200, schema: WebsiteAnswer, description: 'The website as changed.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED'],
    },
    {
      method: 'POST',
      path: '/api/v1/websites/delete',
      operationId: 'deleteWebsite',
      summary: 'Delete a website',
      description: 'Emits `websites:update` (`delete`) to browsers.',
      tag: 'websites',
      scopes: ['websites:write'],
      body: DeleteWebsiteBody,
      response: { status: 200, schema: WebsiteDeletedAnswer, description: 'The id of the website deleted.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND', 'RATE_LIMITED'],
    },
    {
      method: 'GET',
      path: '/api/v1/websites',
      operationId: 'listWebsites',
      summary: 'List websites, a page at a time',
      tag: 'websites',
      scopes: ['websites:read'],
      query: ListWebsitesQuery,
      response: { status: 200, schema: WebsitesPage, description: 'One page of websites and the total.' },
      errors: [...AUTH, 'VALIDATION_FAILED'],
    },
    {
      method: 'GET',
      path: '/api/v1/websites/:id',
      operationId: 'getWebsite',
      summary: 'Read one website',
      tag: 'websites',
      scopes: ['websites:read'],
      params: WebsitePath,
      response: { status: 200, schema: WebsiteAnswer, description: 'The website.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND'],
    },
    {
      method: 'GET',
      path: INTERNAL_PATHS.websitesSnapshot,
      operationId: 'websitesSnapshot',
      summary: 'Snapshot of every website as of an event id (push-gateways)',
      tag: 'internal',
      scopes: [INTERNAL_SCOPE],
      response: {
        status: 200,
        schema: WebsitesSnapshot,
        description: 'The list exactly as of `lastEventId` in log epoch `version`.',
      },
      errors: [...AUTH],
    },
    {
      method: 'GET',
      path: INTERNAL_PATHS.websitesEvents,
      operationId: 'websitesReplay',
      summary: 'Replay of website events after an id (push-gateways)',
      tag: 'internal',
      scopes: [INTERNAL_SCOPE],
      query: ReplayQuery,
      response: {
        status: 200,
        schema: WebsitesReplay,
        description: 'The events after `after`, or `fallback` with the reason to take a snapshot instead.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED'],
    },
  ],
};

const cache: ApiService = {
  title: 'Tideline cache',
  description:
    "The node read model of every registered cluster (`/api/v1/clusters`), operator reads of the stateful executor (`/api/v1/operator`), and the push-gateways' snapshot and replay of a cluster's node events (`/internal/v1`, scope `internal`). Every answer carries the `lastEventId` it reflects.",
  port: 3002,
  routes: [
    {
      method: 'GET',
      path: NODES_API.clusters,
      operationId: 'listClusters',
      summary: 'Node counts of the clusters the token may read',
      tag: 'nodes',
      scopes: NODES_READ,
      response: { status: 200, schema: ClusterSummaries, description: 'One summary per readable cluster.' },
      errors: [...AUTH],
    },
    {
      method: 'GET',
      path: NODES_API.nodes(':cluster'),
      operationId: 'listNodes',
      summary: 'List the nodes of a cluster, filtered and paged',
      description:
        "`labelSelector` uses Kubernetes syntax (`a=b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, comma = and). `page_size` defaults to and is capped by the cache's settings.",
      tag: 'nodes',
      scopes: NODES_READ,
      params: ClusterParams,
      query: ListNodesQuery,
      response: {
        status: 200,
        schema: NodesPage,
        description: 'One page of matching nodes, as of `lastEventId`.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND'],
    },
    {
      method: 'GET',
      path: NODES_API.node(':cluster', ':name'),
      operationId: 'getNode',
      summary: 'Read one node',
      tag: 'nodes',
      scopes: NODES_READ,
      params: NodeParams,
      response: { status: 200, schema: NodeAnswer, description: 'The node, as of `lastEventId`.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND'],
    },
    {
      method: 'GET',
      path: OPERATOR_API.userLinks(':uid'),
      operationId: 'userLinks',
      summary: 'Which pod of each service holds a user (stateful executor)',
      tag: 'operator',
      scopes: ['operator:read'],
      params: UidParams,
      response: {
        status: 200,
        schema: UserLinksAnswer,
        description: 'The live or persisting links of the uid.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED'],
    },
    {
      method: 'GET',
      path: OPERATOR_API.servicePods(':service'),
      operationId: 'servicePods',
      summary: 'The live pods of a service and their state (stateful executor)',
      tag: 'operator',
      scopes: ['operator:read'],
      params: ServiceParams,
      response: { status: 200, schema: ServicePodsAnswer, description: 'The pods and their state.' },
      errors: [...AUTH, 'VALIDATION_FAILED'],
    },
    {
      method: 'GET',
      path: OPERATOR_API.cacheClusters,
      operationId: 'operatorCacheClusters',
      summary: "Every cluster of the cache's read model (operator view)",
      tag: 'operator',
      scopes: ['operator:read'],
      response: { status: 200, schema: ClusterSummaries, description: 'One summary per cluster.' },
      errors: [...AUTH],
    },
    {
      method: 'GET',
      path: OPERATOR_API.deadLetters,
      operationId: 'operatorDeadLetters',
      summary: "The bus's dead letters (operator view; `npm run dlq` redrives them)",
      tag: 'operator',
      scopes: ['operator:read'],
      query: DeadLettersQuery,
      response: {
        status: 200,
        schema: DeadLettersAnswer,
        description:
          'One page of the dead letters the broker retains, oldest first, with whether each was redriven, the total, and the cursor of the next page.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED', 'UNAVAILABLE'],
    },
    {
      method: 'GET',
      path: INTERNAL_PATHS.nodesSnapshot(':cluster'),
      operationId: 'nodesSnapshot',
      summary: "Snapshot of a cluster's nodes as of an event id (push-gateways)",
      tag: 'internal',
      scopes: [INTERNAL_SCOPE],
      params: ClusterParams,
      response: { status: 200, schema: NodesSnapshot, description: 'The nodes exactly as of `lastEventId`.' },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND'],
    },
    {
      method: 'GET',
      path: INTERNAL_PATHS.nodesEvents(':cluster'),
      operationId: 'nodesReplay',
      summary: "Replay of a cluster's node events after an id (push-gateways)",
      tag: 'internal',
      scopes: [INTERNAL_SCOPE],
      params: ClusterParams,
      query: ReplayQuery,
      response: {
        status: 200,
        schema: NodesReplay,
        description: 'The events after `after` as published on the bus, or `fallback` with the reason.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED'],
    },
  ],
};

const informer: ApiService = {
  title: 'Tideline informer',
  description:
    'Cluster administration: the clusters the informer watches, registering one by kubeconfig and unregistering it. Node changes of a registered cluster go to the bus (`node.<cluster>.<type>`).',
  port: 3003,
  routes: [
    {
      method: 'GET',
      path: CLUSTERS_ADMIN_API.list,
      operationId: 'listClusterStatuses',
      summary: 'What the informer knows of each cluster',
      tag: 'clusters',
      scopes: ['clusters:admin'],
      response: { status: 200, schema: ClusterStatuses, description: 'One status per cluster.' },
      errors: [...AUTH],
    },
    {
      method: 'GET',
      path: OPERATOR_API.informerClusters,
      operationId: 'operatorInformerClusters',
      summary: 'Each cluster: state, owner, last event and lease (operator view, read-only)',
      tag: 'operator',
      scopes: ['operator:read'],
      response: { status: 200, schema: ClusterStatuses, description: 'One status per cluster.' },
      errors: [...AUTH],
    },
    {
      method: 'POST',
      path: CLUSTERS_ADMIN_API.register,
      operationId: 'registerCluster',
      summary: 'Register a cluster by kubeconfig',
      description:
        "Give exactly one of `kubeconfig` (the text) and `kubeconfigPath` (a path on the informer's filesystem). Exec plugins, file references and `kubeconfigPath` are refused unless the operator allows them (`TIDELINE_INFORMER_API_ALLOW_EXEC_AND_FILES`).",
      tag: 'clusters',
      scopes: ['clusters:admin'],
      body: RegisterClusterBody,
      response: {
        status: 201,
        schema: ClusterStatusAnswer,
        description: 'The status of the cluster registered.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED', 'CONFLICT'],
    },
    {
      method: 'POST',
      path: CLUSTERS_ADMIN_API.unregister,
      operationId: 'unregisterCluster',
      summary: 'Unregister a cluster',
      description:
        'Stops its watch and publishes `cluster-removed`; browsers following it get `nodes:removed`.',
      tag: 'clusters',
      scopes: ['clusters:admin'],
      body: UnregisterClusterBody,
      response: {
        status: 200,
        schema: ClusterUnregisteredAnswer,
        description: 'The cluster and the id of its last event.',
      },
      errors: [...AUTH, 'VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT'],
    },
  ],
};

const pushGateway: ApiService = {
  title: 'Tideline push-gateway (HTTP)',
  description:
    'The HTTP routes beside Socket.IO (`/socket.io/`, described by `docs/asyncapi.json`): the operator view of this gateway.',
  port: 3000,
  routes: [
    {
      method: 'GET',
      path: OPERATOR_API.gateway,
      operationId: 'operatorGateway',
      summary:
        "This gateway's sockets, rooms with member counts, and slow-consumer disconnects (operator view)",
      tag: 'operator',
      scopes: ['operator:read'],
      response: {
        status: 200,
        schema: GatewayOperatorAnswer,
        description: 'Local sockets and rooms of the gateway that answered.',
      },
      errors: [...AUTH],
    },
  ],
};

/** Every HTTP route of every service, by service. The OpenAPI documents are generated from it. */
export const API_CATALOGUE: Record<ApiServiceName, ApiService> = {
  'website-api': websiteApi,
  cache,
  informer,
  'push-gateway': pushGateway,
};

export const apiServiceNames = Object.keys(API_CATALOGUE) as ApiServiceName[];

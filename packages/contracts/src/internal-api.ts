import { z } from 'zod';
import { EventId } from './envelope.ts';
import { ClusterName, NodeEventType, NodeField, NodeView } from './nodes.ts';

/**
 * Service-to-service HTTP endpoints (same port as each service's public API). Callers send
 * `Authorization: Bearer <service JWT>` with scope `internal` (see `ServiceTokenSource` in
 * packages/auth). Answers are validated by the caller with these schemas.
 */
export const INTERNAL_PATHS = {
  /** website-api → WebsitesSnapshot (packages/contracts websites.ts). */
  websitesSnapshot: '/internal/v1/websites/snapshot',
  /** website-api, `?after=N&limit=L[&version=V]` → WebsitesReplay. */
  websitesEvents: '/internal/v1/websites/events',
  /** cache → NodesSnapshot. */
  nodesSnapshot: (cluster: string) => `/internal/v1/clusters/${cluster}/nodes/snapshot`,
  /** cache, `?after=N&limit=L` → NodesReplay. */
  nodesEvents: (cluster: string) => `/internal/v1/clusters/${cluster}/nodes/events`,
} as const;

export const INTERNAL_SCOPE = 'internal';

export const ReplayQuery = z
  .object({
    after: z.coerce.number().int().nonnegative(),
    limit: z.coerce.number().int().min(1).max(10_000),
    version: z.string().min(1).max(64).optional(),
  })
  .strict();
export type ReplayQuery = z.infer<typeof ReplayQuery>;

/** The nodes of one cluster exactly as of `lastEventId` (events of that cluster are numbered 1, 2, 3, … without gaps). */
export const NodesSnapshot = z.object({
  cluster: ClusterName,
  items: z.array(NodeView),
  total: z.number().int().nonnegative(),
  lastEventId: z.number().int().nonnegative(),
});
export type NodesSnapshot = z.infer<typeof NodesSnapshot>;

export const NodesReplayEvent = z.object({
  cluster: ClusterName,
  eventId: EventId,
  type: NodeEventType,
  data: NodeView,
  changed: z.array(NodeField),
});

export const NodesReplay = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('events'), events: z.array(NodesReplayEvent) }),
  z.object({
    kind: z.literal('fallback'),
    reason: z.enum(['purged', 'future', 'too-many', 'unknown-cluster']),
  }),
]);
export type NodesReplay = z.infer<typeof NodesReplay>;

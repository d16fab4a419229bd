import { z } from 'zod';
import { ClusterName, NodeEvent, NodeView } from './nodes.ts';
import { ReplayFallbackReason } from './position.ts';

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
  /** cache, `?after=N&limit=L` → NodesReplay (bus envelopes, like the websites replay). */
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

/**
 * What the nodes replay query answers: every node event of the cluster after `after` (at most
 * `limit`, in id order), as published on the bus — the same envelopes the websites replay answers
 * with — or `fallback` with the reason the caller must take a snapshot instead.
 */
export const NodesReplay = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('events'), events: z.array(NodeEvent) }),
  z.object({
    kind: z.literal('fallback'),
    reason: ReplayFallbackReason.exclude(['other-version']),
  }),
]);
export type NodesReplay = z.infer<typeof NodesReplay>;

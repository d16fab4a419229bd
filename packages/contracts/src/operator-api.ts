import { z } from 'zod';
import { StatefulPodId, StatefulServiceName, StatefulState, StatefulUid } from './stateful.ts';

/**
 * Operator reads, scope `operator:read`, read-only, readable from the console's origin
 * (TIDELINE_OPERATOR_CORS_ORIGINS). The stateful executor's are served by the cache (port 3002).
 * Errors: 400 VALIDATION_FAILED (bad uid or service), 503 UNAVAILABLE (Redis unreachable). Uids and
 * service names are path-safe by their schemas, so the paths need no escaping.
 */
export const OPERATOR_API = {
  /** → UserLinksAnswer: which pod of each service holds the uid (live or persisting links). */
  userLinks: (uid: string) => `/api/v1/operator/users/${uid}/links`,
  /** → ServicePodsAnswer: the live pods of a service (e.g. `push-gateway`) and their state. */
  servicePods: (service: string) => `/api/v1/operator/services/${service}/pods`,
  /** push-gateway → GatewayOperatorAnswer: this gateway's sockets, rooms and slow-consumer disconnects. */
  gateway: '/api/v1/operator/gateway',
  /** website-api → RelayOperatorAnswer: how far the relay is behind the event log. */
  relay: '/api/v1/operator/relay',
  /** informer → ClusterStatuses: each cluster's state, owner, last event and lease. */
  informerClusters: '/api/v1/operator/informer/clusters',
  /** cache → ClusterSummaries: every cluster of the cache's read model. */
  cacheClusters: '/api/v1/operator/cache/clusters',
  /** cache → DeadLettersAnswer: the bus's dead letters (read-only; `npm run dlq` acts on them). */
  deadLetters: '/api/v1/operator/dead-letters',
} as const;

/** One gateway as it sees itself: local sockets and rooms (rooms of single sockets are not listed). */
export const GatewayOperatorAnswer = z.object({
  data: z.object({
    instanceId: z.string(),
    sockets: z.number().int().nonnegative(),
    rooms: z.array(z.object({ room: z.string(), members: z.number().int().nonnegative() })),
    /** Sockets this gateway closed because they did not read fast enough, since it started. */
    slowConsumerDisconnects: z.number().int().nonnegative(),
  }),
});
export type GatewayOperatorAnswer = z.infer<typeof GatewayOperatorAnswer>;

/** The relay's progress: committed (`lastEventId`) against published (`publishedId`). */
export const RelayOperatorAnswer = z.object({
  data: z.object({
    topic: z.string(),
    lastEventId: z.number().int().nonnegative(),
    publishedId: z.number().int().nonnegative(),
    /** Events committed but not yet published. */
    lag: z.number().int().nonnegative(),
    /** Age of the oldest unpublished event (0 when caught up). */
    lagSeconds: z.number().nonnegative(),
    /** The replica holding the relay lease, and when it ends unless renewed (ISO 8601). */
    owner: z.string().optional(),
    leaseExpiresAt: z.string().optional(),
  }),
});
export type RelayOperatorAnswer = z.infer<typeof RelayOperatorAnswer>;

/** One dead letter (see packages/bus dead-letters.ts); its payload stays on the bus. */
export const DeadLetterView = z.object({
  /** Position on the dead-letter topic (`npm run dlq -- show <id>`). */
  id: z.number().int().positive(),
  topic: z.string(),
  subject: z.string(),
  group: z.string(),
  reason: z.string(),
  deliveries: z.number().int().nonnegative(),
  msgId: z.string(),
  deadLetteredAt: z.string().optional(),
  redriven: z.boolean(),
});
export type DeadLetterView = z.infer<typeof DeadLetterView>;

/** Most dead letters one answer lists. */
export const DEAD_LETTERS_LIMIT_MAX = 500;

/**
 * At most `limit` dead letters (default 100): `order=oldest` (the default) from the oldest, with
 * ids above `after`; `order=newest` from the newest, with ids below `before`. Each page's `next`
 * is the next page's `after` or `before`.
 */
export const DeadLettersQuery = z
  .object({
    order: z.enum(['oldest', 'newest']).default('oldest'),
    after: z.coerce.number().int().nonnegative().optional(),
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(DEAD_LETTERS_LIMIT_MAX).default(100),
  })
  .strict()
  .refine((q) => (q.order === 'oldest' ? q.before === undefined : q.after === undefined), {
    message: 'after goes with order=oldest, before with order=newest',
  });
export type DeadLettersQuery = z.infer<typeof DeadLettersQuery>;

export const DeadLettersAnswer = z.object({
  /** In the query's order, at most its `limit`. */
  data: z.array(DeadLetterView),
  /** Every dead letter the broker retains. */
  total: z.number().int().nonnegative(),
  /** Pass as `after` (oldest first) or `before` (newest first) for the next page; absent on the last page. */
  next: z.number().int().positive().optional(),
});
export type DeadLettersAnswer = z.infer<typeof DeadLettersAnswer>;

export const UserLinksAnswer = z.object({
  data: z.object({ uid: StatefulUid, links: z.record(StatefulServiceName, StatefulPodId) }),
});
export type UserLinksAnswer = z.infer<typeof UserLinksAnswer>;

export const ServicePodsAnswer = z.object({
  data: z.object({ service: StatefulServiceName, pods: z.record(StatefulPodId, StatefulState) }),
});
export type ServicePodsAnswer = z.infer<typeof ServicePodsAnswer>;

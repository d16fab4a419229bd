import { z } from 'zod';
import { StatefulPodId, StatefulServiceName, StatefulState, StatefulUid } from './stateful.ts';

/**
 * Operator reads of the stateful executor, served by the cache (port 3002), scope `operator:read`.
 * Errors: 400 VALIDATION_FAILED (bad uid or service), 503 UNAVAILABLE (Redis unreachable). Uids and
 * service names are path-safe by their schemas, so the paths need no escaping.
 */
export const OPERATOR_API = {
  /** → UserLinksAnswer: which pod of each service holds the uid (live or persisting links). */
  userLinks: (uid: string) => `/api/v1/operator/users/${uid}/links`,
  /** → ServicePodsAnswer: the live pods of a service (e.g. `push-gateway`) and their state. */
  servicePods: (service: string) => `/api/v1/operator/services/${service}/pods`,
} as const;

export const UserLinksAnswer = z.object({
  data: z.object({ uid: StatefulUid, links: z.record(StatefulServiceName, StatefulPodId) }),
});
export type UserLinksAnswer = z.infer<typeof UserLinksAnswer>;

export const ServicePodsAnswer = z.object({
  data: z.object({ service: StatefulServiceName, pods: z.record(StatefulPodId, StatefulState) }),
});
export type ServicePodsAnswer = z.infer<typeof ServicePodsAnswer>;

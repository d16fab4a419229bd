import { z } from 'zod';
import { PushTargetId } from './push.ts';

/**
 * Identifiers and values of the stateful executor (packages/stateful). None of them may contain
 * `{`, `}` or `|`: the first two would break Redis Cluster hash tags, the last is the field
 * separator of the stored values.
 */

/** A namespace isolating one deployment's (or one test's) keys. */
export const StatefulNamespace = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -');
export type StatefulNamespace = z.infer<typeof StatefulNamespace>;

/** A service (workload) name, e.g. `push-gateway`. */
export const StatefulServiceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -');
export type StatefulServiceName = z.infer<typeof StatefulServiceName>;

/** A pod id, e.g. a Kubernetes pod name (DNS-1123 subdomain, at most 253 characters). */
export const StatefulPodId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,253}$/, 'must be 1-253 of A-Z a-z 0-9 _ . : -');
export type StatefulPodId = z.infer<typeof StatefulPodId>;

/** A user id as it appears in push targets and rooms. */
export const StatefulUid = PushTargetId;
export type StatefulUid = z.infer<typeof StatefulUid>;

/**
 * A pod or workload state: a short token such as `starting`, `ready`, `draining`. Tokens, not
 * JSON, so Lua scripts can compare them with an allowed set when they pick a pod.
 */
export const StatefulState = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be a token of 1-64 of A-Z a-z 0-9 _ . : -');
export type StatefulState = z.infer<typeof StatefulState>;

/** The states a push-gateway pod goes through, in order. */
export const GatewayPodState = z.enum(['starting', 'ready', 'draining']);
export type GatewayPodState = z.infer<typeof GatewayPodState>;

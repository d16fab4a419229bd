import {
  issuesOf,
  StatefulNamespace,
  StatefulPodId,
  StatefulServiceName,
  StatefulState,
  StatefulUid,
} from '@tideline/contracts';
import { z } from 'zod';
import { StatefulValidationError } from './errors.ts';

/**
 * Persist windows and TTLs are whole seconds. The upper bound only keeps `now + window` exact in
 * a Lua number (a double) and in PEXPIREAT; it is a representation limit, not a policy.
 */
const MAX_SECONDS = 2 ** 31 - 1;

export const PersistSeconds = z
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(0, 'must not be negative')
  .max(MAX_SECONDS, `must be at most ${MAX_SECONDS}`);

export const TtlSeconds = z
  .number({ error: 'must be a number of seconds' })
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1')
  .max(MAX_SECONDS, `must be at most ${MAX_SECONDS}`);

/** A lease (ms ≥ 1): how long a live link or a connection entry lasts unless its pod renews it. */
export const LeaseMs = z
  .number({ error: 'must be a number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(1, 'must be at least 1')
  .max(MAX_SECONDS, `must be at most ${MAX_SECONDS}`);

/** A connection (socket) id: 1-128 of `A-Z a-z 0-9 _ . : -` (a Socket.IO socket id fits). */
export const ConnectionId = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 of A-Z a-z 0-9 _ . : -');

const ns = StatefulNamespace;
const service = StatefulServiceName;
const podId = StatefulPodId;
const uid = StatefulUid;
const state = StatefulState;
const leaseMs = LeaseMs;
const link = z
  .object({ ns, uid, service, podId, persistSeconds: PersistSeconds, leaseMs: leaseMs.optional() })
  .strict();

/** The arguments of every executor method, by name, so errors name the argument that broke its rule. */
export const argumentSchemas = {
  setServiceState: z.object({ ns, service, podId, state, ttlSeconds: TtlSeconds.optional() }).strict(),
  getServiceState: z.object({ ns, service }).strict(),
  removeServiceState: z.object({ ns, service, podId }).strict(),
  setWorkloadState: z.object({ ns, service, state }).strict(),
  getWorkloadState: z
    .object({ ns, services: z.array(service).min(1, 'must name at least one service') })
    .strict(),
  setLinkedPod: link,
  trySetLinkedPod: link,
  setLinkedPodIfAbsent: link,
  computeLinkedPodIfAbsent: z
    .object({
      ns,
      uid,
      service,
      persistSeconds: PersistSeconds,
      leaseMs: leaseMs.optional(),
      // The declarative chooser first: it is the common one, and a union tries its members in order.
      choose: z.union(
        [
          z.object({ states: z.array(state).min(1, 'must allow at least one state') }).strict(),
          z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function'),
        ],
        { error: 'must be a function or { states: [...] }' },
      ),
    })
    .strict(),
  getLinkedPod: z.object({ ns, uid, service }).strict(),
  removeLinkedPod: z.object({ ns, uid, service, persistSeconds: PersistSeconds }).strict(),
  removeLinkedPodWithId: z
    .object({ ns, uid, service, podId, persistSeconds: PersistSeconds.optional() })
    .strict(),
  getLinkService: z.object({ ns, uid }).strict(),
  renewLeases: z
    .object({
      ns,
      uid,
      podId,
      leaseMs,
      link: z.object({ service, persistSeconds: PersistSeconds }).strict().optional(),
      connectionIds: z.array(ConnectionId).max(100_000, 'must list at most 100000 connections'),
    })
    .strict(),
  acquireConnection: z
    .object({
      ns,
      uid,
      podId,
      connectionId: ConnectionId,
      max: z
        .number({ error: 'must be a number' })
        .int('must be a whole number')
        .min(0, 'must not be negative'),
      leaseMs,
    })
    .strict(),
  releaseConnection: z.object({ ns, uid, connectionId: ConnectionId }).strict(),
  countConnections: z.object({ ns, uid }).strict(),
};

/** Parses the arguments of `method`, throwing a {@link StatefulValidationError} that names each bad one. */
export function validate<M extends keyof typeof argumentSchemas>(
  method: M,
  input: unknown,
): z.output<(typeof argumentSchemas)[M]> {
  const result = argumentSchemas[method].safeParse(input);
  if (!result.success) throw new StatefulValidationError(method, issuesOf(result.error));
  return result.data as z.output<(typeof argumentSchemas)[M]>;
}

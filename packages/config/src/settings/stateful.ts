import { ConfigError } from '../load.ts';
import { bool, int, ms, seconds, str } from '../setting.ts';

/** Settings of packages/stateful (the stateful executor) and its PodPresence helper. */
export const statefulSettings = {
  statefulNamespace: str({
    env: 'TIDELINE_STATEFUL_NAMESPACE',
    default: 'tideline',
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    patternRule: '1-64 of A-Z a-z 0-9 _ -',
    doc: 'Namespace of the stateful executor keys used by Tideline services.',
  }),
  statefulConnectTimeoutMs: ms({
    env: 'TIDELINE_STATEFUL_CONNECT_TIMEOUT_MS',
    default: 2_000,
    min: 10,
    doc: 'Opening a connection to Redis gives up after this; the call fails as unavailable.',
  }),
  statefulReconnectBackoffMs: ms({
    env: 'TIDELINE_STATEFUL_RECONNECT_BACKOFF_MS',
    default: 100,
    min: 1,
    doc: 'First delay before reconnecting to Redis after the connection dropped; doubles per attempt up to the maximum.',
  }),
  statefulReconnectBackoffMaxMs: ms({
    env: 'TIDELINE_STATEFUL_RECONNECT_BACKOFF_MAX_MS',
    default: 2_000,
    min: 1,
    doc: 'Upper bound of the reconnect delay. While disconnected, calls fail at once as unavailable.',
  }),
  statefulAutoPipelining: bool({
    env: 'TIDELINE_STATEFUL_AUTO_PIPELINING',
    default: true,
    doc: 'Auto-pipelining of the stateful executor: the Redis commands its calls issue in one event-loop turn leave as one socket write (one system call for the service, one read for Redis) instead of one write each. A call is not held for later and does not wait for other calls, so a lone call is as fast as without it. Calls still fail at once while disconnected, and each keeps the command timeout. false: one write per command.',
  }),
  statefulComputeBatchMax: int({
    env: 'TIDELINE_STATEFUL_COMPUTE_BATCH_MAX',
    min: 1,
    max: 1_000,
    default: 64,
    doc: 'computeLinkedPodIfAbsent with a state chooser: the calls for one service made in one event-loop turn (a burst of new connections) are linked by one Redis script call of at most this many uids, which reads the pods once for all of them; each is answered as if alone. Larger batches cost Redis less per uid but run longer at once (~6 µs per uid with 8 pods). 1: one script call per call.',
  }),
  statefulHeartbeatIntervalMs: ms({
    env: 'TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS',
    default: 5_000,
    min: 10,
    doc: 'How often a pod (PodPresence) re-registers its state; at most half of TIDELINE_STATEFUL_POD_STATE_TTL_SECONDS.',
  }),
  statefulPodStateTtlSeconds: seconds({
    env: 'TIDELINE_STATEFUL_POD_STATE_TTL_SECONDS',
    default: 15,
    min: 1,
    doc: 'A pod whose heartbeat stopped disappears from its service state after this many seconds.',
  }),
  statefulLinkPersistSeconds: seconds({
    env: 'TIDELINE_STATEFUL_LINK_PERSIST_SECONDS',
    default: 30,
    doc: 'After a user disconnects, its uid stays linked to the pod this long, so a reconnect lands on the same pod (0: released at once).',
  }),
  statefulLinkLeaseHeartbeats: int({
    env: 'TIDELINE_STATEFUL_LINK_LEASE_HEARTBEATS',
    min: 2,
    max: 1_000,
    default: 3,
    doc: "A pod's live uid links and counted connections are leased for TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS × this and renewed by each heartbeat, so those of a pod killed without cleanup (kill -9) are gone within that time.",
  }),
};

/**
 * Cross rule for services that use PodPresence: a heartbeat must come at least twice per pod
 * state TTL, or a live pod would flicker out of its service state between two heartbeats.
 */
export function heartbeatWithinPodStateTtl(config: {
  statefulHeartbeatIntervalMs: number;
  statefulPodStateTtlSeconds: number;
}): ConfigError | undefined {
  if (config.statefulHeartbeatIntervalMs * 2 <= config.statefulPodStateTtlSeconds * 1000) return undefined;
  return new ConfigError(
    'TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS',
    `at most half of TIDELINE_STATEFUL_POD_STATE_TTL_SECONDS (${config.statefulPodStateTtlSeconds * 500} ms)`,
    String(config.statefulHeartbeatIntervalMs),
  );
}

import {
  GatewayPodState,
  issuesOf,
  StatefulNamespace,
  StatefulPodId,
  StatefulServiceName,
} from '@tideline/contracts';
import { z } from 'zod';
import { StatefulValidationError } from './errors.ts';
import type { StatefulSettingsConfig } from './factory.ts';
import { PersistSeconds, TtlSeconds } from './schemas.ts';
import type { ConnectionResult, StatefulExecutor, TrySetResult } from './types.ts';

export interface PodPresenceOptions {
  executor: StatefulExecutor;
  ns: string;
  /** The service this pod belongs to, e.g. `push-gateway`. */
  service: string;
  /** This pod, e.g. the Kubernetes pod name (`HOSTNAME`). */
  podId: string;
  /** How often the pod re-registers its state; at most half of `stateTtlSeconds`. */
  heartbeatIntervalMs: number;
  /** A pod whose heartbeat stopped drops out of the service state after this. */
  stateTtlSeconds: number;
  /** How long a uid stays linked here after its last socket left (0: released at once). */
  linkPersistSeconds: number;
  /**
   * Heartbeats a live link (and a counted connection) outlasts its last renewal: each heartbeat
   * renews them for `heartbeatIntervalMs × leaseHeartbeats`, so those of a pod that died without
   * releasing them (kill -9) are gone within that time. At least 2.
   */
  leaseHeartbeats: number;
  /** A heartbeat or a release that failed (Redis unavailable, …); the next heartbeat retries. */
  onError?: (error: unknown) => void;
}

const Options = z
  .object({
    ns: StatefulNamespace,
    service: StatefulServiceName,
    podId: StatefulPodId,
    heartbeatIntervalMs: z.number().int().min(1),
    stateTtlSeconds: TtlSeconds,
    linkPersistSeconds: PersistSeconds,
    leaseHeartbeats: z.number().int().min(2).max(1_000),
  })
  .refine((o) => o.heartbeatIntervalMs * 2 <= o.stateTtlSeconds * 1000, {
    path: ['heartbeatIntervalMs'],
    message: 'must be at most half of stateTtlSeconds, or a live pod flickers out between heartbeats',
  });

/** A uid was linked here (`ok`), or is held by another, live pod (`podId`). */
export interface PodLinkResult extends TrySetResult {
  /** True when the link was taken from a pod that is gone (heartbeat expired) or draining. */
  tookOver: boolean;
}

/**
 * One pod's presence in the stateful executor: its state (`starting` → `ready` → `draining`)
 * kept alive by a heartbeat, and the uids of the users connected to it.
 *
 * Guarantees:
 * - While the heartbeat runs, the pod is listed in its service state; within `stateTtlSeconds`
 *   of the process dying it no longer is.
 * - A uid is linked here from its first `link` until its last `unlink`, then persists for
 *   `linkPersistSeconds` (at once released while draining, so reconnects land elsewhere).
 *   Releasing never removes a link that meanwhile moved to another pod.
 * - A link held by a pod that is gone or draining is taken over; one held by a live, serving pod
 *   is not (`ok: false` names it, e.g. to redirect the user there).
 * - Live links and counted connections are leased for {@link leaseMs} (`heartbeatIntervalMs ×
 *   leaseHeartbeats`) and renewed by every heartbeat: when the process dies (kill -9) they are gone
 *   within `leaseMs` of its last heartbeat, without anybody cleaning up after it.
 * - `admit` counts a connection of a uid across every pod of the namespace and refuses it when the
 *   uid already holds `max` live ones (one atomic script); `release` stops counting it.
 */
export class PodPresence {
  private state: GatewayPodState = 'starting';
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly sockets = new Map<string, number>();
  /** Releases that failed (Redis unavailable), retried with each heartbeat: uid → window. */
  private readonly pendingReleases = new Map<string, number>();
  /** Connections counted by `admit` and not yet released: uid → connection ids. */
  private readonly connections = new Map<string, Set<string>>();
  private readonly o: z.output<typeof Options>;

  constructor(private readonly options: PodPresenceOptions) {
    const parsed = Options.safeParse(options);
    if (!parsed.success) throw new StatefulValidationError('PodPresence', issuesOf(parsed.error));
    this.o = parsed.data;
  }

  /** A PodPresence with the intervals of the configuration (`statefulSettings`). */
  static fromConfig(options: {
    executor: StatefulExecutor;
    config: StatefulSettingsConfig;
    service: string;
    podId: string;
    onError?: (error: unknown) => void;
  }): PodPresence {
    const { config } = options;
    return new PodPresence({
      executor: options.executor,
      ns: config.statefulNamespace,
      service: options.service,
      podId: options.podId,
      heartbeatIntervalMs: config.statefulHeartbeatIntervalMs,
      stateTtlSeconds: config.statefulPodStateTtlSeconds,
      linkPersistSeconds: config.statefulLinkPersistSeconds,
      leaseHeartbeats: config.statefulLinkLeaseHeartbeats,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  get currentState(): GatewayPodState {
    return this.state;
  }

  /** Number of uids linked here (each with at least one socket). */
  get linkedUids(): number {
    return this.sockets.size;
  }

  /** The lease of live links and counted connections: `heartbeatIntervalMs × leaseHeartbeats`. */
  get leaseMs(): number {
    return this.o.heartbeatIntervalMs * this.o.leaseHeartbeats;
  }

  /** Number of connections counted here by `admit` and not released. */
  get admittedConnections(): number {
    let count = 0;
    for (const ids of this.connections.values()) count += ids.size;
    return count;
  }

  /** Registers the pod as `starting` (throws if Redis is unavailable) and starts the heartbeat. */
  async start(): Promise<void> {
    await this.register();
    this.timer ??= setInterval(() => {
      this.beating ??= this.beat()
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          this.beating = undefined;
        });
    }, this.o.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** Now serving: listed as `ready`. */
  ready(): Promise<void> {
    return this.setState('ready');
  }

  /** Stopping: listed as `draining`; uids released from now on are released at once. */
  drain(): Promise<void> {
    return this.setState('draining');
  }

  async setState(state: GatewayPodState): Promise<void> {
    this.state = GatewayPodState.parse(state);
    await this.register();
  }

  /**
   * A socket of `uid` connected here. The first socket links the uid to this pod (reclaiming a
   * persisting link of its own, taking over one of a gone or draining pod); later ones only count.
   */
  async link(uid: string): Promise<PodLinkResult> {
    const { executor } = this.options;
    const { ns, service, podId, linkPersistSeconds: persistSeconds } = this.o;
    // Before anything is sent: a pending release must not land after this link (see beat()).
    const pending = this.pendingReleases.get(uid);
    this.pendingReleases.delete(uid);
    try {
      const leaseMs = this.leaseMs;
      let result = await executor.trySetLinkedPod({ ns, uid, service, podId, persistSeconds, leaseMs });
      let tookOver = false;
      if (!result.ok) {
        const pods = await executor.getServiceState(ns, service);
        const holderState = pods.get(result.podId);
        if (holderState === undefined || holderState === 'draining') {
          await executor.removeLinkedPodWithId({ ns, uid, service, podId: result.podId, persistSeconds: 0 });
          result = await executor.trySetLinkedPod({ ns, uid, service, podId, persistSeconds, leaseMs });
          tookOver = result.ok;
        }
      }
      if (result.ok) this.sockets.set(uid, (this.sockets.get(uid) ?? 0) + 1);
      return { ...result, tookOver };
    } catch (error) {
      // Not linked as far as this pod knows: whatever the failed call did, the release stays due.
      if (pending !== undefined && !this.sockets.has(uid)) this.pendingReleases.set(uid, pending);
      throw error;
    }
  }

  /**
   * A socket of `uid` that was linked here disconnected. When it was the uid's last one, the link
   * starts its persist window (released at once while draining). True when the link was released.
   * If Redis is unavailable this throws, and the release is retried with each heartbeat until it
   * succeeds or the uid links here again.
   */
  async unlink(uid: string): Promise<boolean> {
    const count = this.sockets.get(uid);
    if (count === undefined) return false;
    if (count > 1) {
      this.sockets.set(uid, count - 1);
      return false;
    }
    this.sockets.delete(uid);
    const { ns, service, podId, linkPersistSeconds } = this.o;
    const persistSeconds = this.state === 'draining' ? 0 : linkPersistSeconds;
    try {
      return await this.options.executor.removeLinkedPodWithId({ ns, uid, service, podId, persistSeconds });
    } catch (error) {
      this.pendingReleases.set(uid, persistSeconds);
      throw error;
    }
  }

  /**
   * Counts connection `connectionId` of `uid` here unless the uid already holds `max` live
   * connections across all pods (0: no cap, only counted). `ok: false` changes nothing. Throws a
   * StatefulUnavailableError when Redis cannot answer (the connection is then not counted).
   * Every admitted connection must be `release`d once it is gone.
   */
  async admit(uid: string, connectionId: string, max: number): Promise<ConnectionResult> {
    const { ns, podId } = this.o;
    const result = await this.options.executor.acquireConnection({
      ns,
      uid,
      podId,
      connectionId,
      max,
      leaseMs: this.leaseMs,
    });
    if (result.ok) {
      const ids = this.connections.get(uid) ?? new Set<string>();
      ids.add(connectionId);
      this.connections.set(uid, ids);
    }
    return result;
  }

  /**
   * An admitted connection is gone: it stops counting. Idempotent (false when it was not admitted
   * here or already released). If Redis is unavailable this throws; the entry is then no longer
   * renewed and runs out within one lease.
   */
  async release(uid: string, connectionId: string): Promise<boolean> {
    const ids = this.connections.get(uid);
    if (!ids?.delete(connectionId)) return false;
    if (ids.size === 0) this.connections.delete(uid);
    const { ns } = this.o;
    return this.options.executor.releaseConnection({ ns, uid, connectionId });
  }

  /**
   * Stops the heartbeat, releases every uid still linked here at once and unregisters the pod.
   * Best effort: failures go to `onError` (the pod state then expires by its TTL).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    const { executor } = this.options;
    const { ns, service, podId } = this.o;
    const uids = [...this.sockets.keys(), ...this.pendingReleases.keys()];
    const connections = [...this.connections].flatMap(([uid, ids]) =>
      [...ids].map((connectionId) => ({ ns, uid, connectionId })),
    );
    this.sockets.clear();
    this.pendingReleases.clear();
    this.connections.clear();
    const results = await Promise.allSettled([
      ...uids.map((uid) => executor.removeLinkedPodWithId({ ns, uid, service, podId, persistSeconds: 0 })),
      ...connections.map((connection) => executor.releaseConnection(connection)),
      executor.removeServiceState(ns, service, podId),
    ]);
    for (const result of results) if (result.status === 'rejected') this.options.onError?.(result.reason);
  }

  private async beat(): Promise<void> {
    await this.register();
    const { ns, service, podId } = this.o;
    for (const uid of [...this.pendingReleases.keys()]) {
      // Checked right before sending: a link() of this uid since then cancelled the release, and
      // commands of one connection apply in the order they are sent.
      const persistSeconds = this.pendingReleases.get(uid);
      if (persistSeconds === undefined) continue;
      await this.options.executor.removeLinkedPodWithId({ ns, uid, service, podId, persistSeconds });
      if (this.pendingReleases.get(uid) === persistSeconds) this.pendingReleases.delete(uid);
    }
    await this.renew();
  }

  /**
   * Renews the lease of every live link and counted connection of this pod, one script per uid.
   * What is renewed is read right before each call is sent: a link/unlink/admit/release of the
   * same uid is then either wholly before it or wholly after it on the connection.
   */
  private async renew(): Promise<void> {
    const { executor } = this.options;
    const { ns, service, podId, linkPersistSeconds: persistSeconds } = this.o;
    const uids = new Set([...this.sockets.keys(), ...this.connections.keys()]);
    const renewals: Promise<unknown>[] = [];
    for (const uid of uids) {
      const linked = this.sockets.has(uid);
      const connectionIds = [...(this.connections.get(uid) ?? [])];
      if (!linked && connectionIds.length === 0) continue;
      renewals.push(
        executor.renewLeases({
          ns,
          uid,
          podId,
          leaseMs: this.leaseMs,
          ...(linked ? { link: { service, persistSeconds } } : {}),
          connectionIds,
        }),
      );
    }
    const results = await Promise.allSettled(renewals);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private register(): Promise<void> {
    const { ns, service, podId, stateTtlSeconds } = this.o;
    return this.options.executor.setServiceState({
      ns,
      service,
      podId,
      state: this.state,
      ttlSeconds: stateTtlSeconds,
    });
  }
}

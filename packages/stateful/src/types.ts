/**
 * The stateful executor port: which pods of a service exist and in which state, the state of
 * whole workloads, and which pod each user (uid) is linked to, per service.
 *
 * Every method validates its arguments first (a {@link StatefulValidationError} names each bad
 * one, and nothing is sent), and fails with a {@link StatefulUnavailableError} within the
 * configured command timeout when the store cannot answer — it never hangs. Every write is
 * atomic and idempotent, so retrying one after an unavailable error is safe.
 *
 * Links. A link of (ns, uid, service) names one pod and is in one of three conditions:
 * - **live**: it stays until it is removed or replaced — or, when it was set with a lease
 *   (`leaseMs`), until its lease runs out unless {@link StatefulExecutor.renewLeases} renewed it
 *   (so a pod that dies without releasing its links loses them within one lease).
 * - **persisting**: it was removed with a persist window of N > 0 seconds and still counts as the
 *   uid's link for N seconds (by the store's clock): `getLinkedPod` returns it, a `trySetLinkedPod`
 *   from another pod is refused with the old pod, and one from the same pod makes it live again —
 *   so a user who reconnects within the window lands on the same pod.
 * - **absent**: never set, removed with a window of 0, or its window has passed.
 *
 * @see StatefulValidationError, StatefulUnavailableError, StatefulWrongTypeError in errors.ts
 */
export interface StatefulExecutor {
  /**
   * Registers `podId` of `service` in `state`. With `ttlSeconds` the registration disappears
   * unless set again within that time (a heartbeat), so a dead pod drops out on its own; without
   * it, it stays until removed.
   */
  setServiceState(options: SetServiceStateOptions): Promise<void>;
  /** The registered, unexpired pods of `service`: podId → state. */
  getServiceState(ns: string, service: string): Promise<Map<string, string>>;
  /** Unregisters `podId`; true when it was registered. */
  removeServiceState(ns: string, service: string, podId: string): Promise<boolean>;

  /** Sets the state of a whole service (workload), e.g. `rolling-out`. No expiry. */
  setWorkloadState(ns: string, service: string, state: string): Promise<void>;
  /** Workload states of the given services, read at one instant: service → state (services without one are left out). */
  getWorkloadState(ns: string, services: readonly string[]): Promise<Map<string, string>>;

  /**
   * Links (ns, uid, service) to `podId` as a live link, replacing any link. `persistSeconds` is
   * recorded with the link as its window for {@link removeLinkedPodWithId}. Returns the pod now linked.
   */
  setLinkedPod(options: LinkOptions): Promise<string>;
  /**
   * Links `podId` only if the uid has no link for the service (or only a link to this same pod,
   * which becomes live again). Atomic: of any number of concurrent callers for one uid and
   * service, exactly one gets `ok: true` and all others get `ok: false` with the winner's pod.
   */
  trySetLinkedPod(options: LinkOptions): Promise<TrySetResult>;
  /** {@link trySetLinkedPod} answering only the pod linked after the call (`podId` when it won). */
  setLinkedPodIfAbsent(options: LinkOptions): Promise<string>;
  /**
   * The uid's pod for `service`, choosing and linking one when there is none. Returns the linked
   * pod and whether this call created the link, or `undefined` when no link exists and `choose`
   * found no pod.
   *
   * Guarantee: of any number of concurrent callers for one uid and service (whatever they choose),
   * all end up with one and the same pod and exactly one gets `created: true`. With a
   * {@link StateChooser}, reading the link, choosing and linking are one atomic script: the linked
   * pod is registered, unexpired and in an allowed state at the instant it is linked (the calls of
   * one event-loop turn for the same service may share that script call, each answered as if
   * alone). A
   * {@link FunctionChooser} is given the live pods as read at one instant (with the link, one
   * script) and its pick is linked with the compare-and-set of {@link trySetLinkedPod}; a state
   * change between that read and the link (one round trip later) is not excluded.
   */
  computeLinkedPodIfAbsent(options: ComputeLinkOptions): Promise<ComputeResult | undefined>;
  /** The pod of a live or persisting link, else `undefined`. */
  getLinkedPod(ns: string, uid: string, service: string): Promise<string | undefined>;
  /**
   * Releases the link whatever its pod: a live link starts a persist window of `persistSeconds`
   * (0 removes it at once). A link already persisting is removed at once by 0 and otherwise left
   * alone (a window is never extended). True when the link changed.
   */
  removeLinkedPod(options: RemoveLinkOptions): Promise<boolean>;
  /**
   * {@link removeLinkedPod}, but only while the link still names `podId`: a pod releasing a uid
   * that has meanwhile been linked elsewhere changes nothing. The window is `persistSeconds` when
   * given, else the one recorded when the link was set.
   */
  removeLinkedPodWithId(options: RemoveLinkWithIdOptions): Promise<boolean>;
  /** Every live or persisting link of the uid: service → podId. */
  getLinkService(ns: string, uid: string): Promise<Map<string, string>>;

  /**
   * A pod's heartbeat for one uid, in one atomic script: with `link`, a live link of `podId` gets
   * a fresh lease of `leaseMs`, and an absent or expired one is linked to `podId` again (the pod
   * still serves the uid); a persisting link or another pod's is left alone. Each of
   * `connectionIds` is (re)entered for `podId` with a fresh lease; this pod's other entries are
   * left to run out. Returns whether `podId` holds the live link and the uid's live connections.
   */
  renewLeases(options: RenewLeasesOptions): Promise<RenewLeasesResult>;
  /**
   * Counts a connection of `uid` on `podId`, leased for `leaseMs`, unless the uid already has
   * `max` live connections across all pods (0: no cap). Entries whose lease ran out (their pod
   * died) are dropped first. Atomic: of any number of concurrent calls for one uid, at most `max`
   * minus the live count succeed. Idempotent per `connectionId`.
   */
  acquireConnection(options: AcquireConnectionOptions): Promise<ConnectionResult>;
  /** Stops counting a connection; true when it was counted. */
  releaseConnection(options: ReleaseConnectionOptions): Promise<boolean>;
  /** The live connections of `uid`: podId → count. */
  countConnections(ns: string, uid: string): Promise<Map<string, number>>;
}

export interface RenewLeasesOptions {
  ns: string;
  uid: string;
  podId: string;
  /** The new lease of the link and of each listed connection (ms ≥ 1). */
  leaseMs: number;
  /** Renew (or restore) the uid's link of `service` to `podId`; its persist window if restored. */
  link?: { service: string; persistSeconds: number };
  /** The uid's connections that `podId` still holds. */
  connectionIds: readonly string[];
}

export interface RenewLeasesResult {
  /** True when `podId` holds the uid's live link (false without `link`). */
  linked: boolean;
  /** Live connections of the uid across all pods after the call. */
  connections: number;
}

export interface AcquireConnectionOptions {
  ns: string;
  uid: string;
  podId: string;
  connectionId: string;
  /** Most live connections the uid may hold across all pods; 0: no cap. */
  max: number;
  leaseMs: number;
}

export interface ConnectionResult {
  /** True when the connection is counted. */
  ok: boolean;
  /** Live connections of the uid across all pods after the call. */
  count: number;
}

export interface ReleaseConnectionOptions {
  ns: string;
  uid: string;
  connectionId: string;
}

export interface SetServiceStateOptions {
  ns: string;
  service: string;
  podId: string;
  /** A token such as `starting`, `ready`, `draining`. */
  state: string;
  /** Unset: the registration never expires. */
  ttlSeconds?: number;
}

export interface LinkOptions {
  ns: string;
  uid: string;
  service: string;
  podId: string;
  /** Window (whole seconds, ≥ 0) recorded with the link and used when it is released by {@link StatefulExecutor.removeLinkedPodWithId}. */
  persistSeconds: number;
  /** When set (ms ≥ 1), the live link expires after this unless renewed ({@link StatefulExecutor.renewLeases}); unset: no expiry. */
  leaseMs?: number;
}

export interface TrySetResult {
  /** True when the uid is now linked to the pod asked for. */
  ok: boolean;
  /** The pod linked after the call. */
  podId: string;
}

/**
 * Picks among the live pods of the service whose state is one of `states`, atomically inside
 * Redis, by rendezvous hashing of the uid: the same uid and the same pod set always give the same
 * pod, and a pod leaving moves only the uids it held.
 */
export interface StateChooser {
  states: readonly string[];
}

/**
 * Picks a pod in JavaScript from the live pods of the service (podId → state, as read at one
 * instant). Must return one of them, or `undefined` for none.
 */
export type FunctionChooser = (
  pods: ReadonlyMap<string, string>,
  uid: string,
) => string | undefined | Promise<string | undefined>;

export type PodChooser = StateChooser | FunctionChooser;

export interface ComputeLinkOptions {
  ns: string;
  uid: string;
  service: string;
  choose: PodChooser;
  persistSeconds: number;
  /** As in {@link LinkOptions}. */
  leaseMs?: number;
}

export interface ComputeResult {
  podId: string;
  /** True when this call created the link; false when a link existed or a concurrent caller won. */
  created: boolean;
}

export interface RemoveLinkOptions {
  ns: string;
  uid: string;
  service: string;
  /** Whole seconds ≥ 0; 0 removes the link at once. */
  persistSeconds: number;
}

export interface RemoveLinkWithIdOptions {
  ns: string;
  uid: string;
  service: string;
  podId: string;
  /** Overrides the window recorded with the link. */
  persistSeconds?: number;
}

import type { KubeConfig } from '@kubernetes/client-node';
import type { BackoffPolicy, EventBus } from '@tideline/bus';
import { type ClusterStatus, type ErrorCode, retryDelayMs, TidelineError } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { PublishedLedger } from './domain/ledger.ts';
import type { ApiKubeconfigPolicy } from './kube/api-kubeconfig.ts';
import { ClusterWatcher, type ClusterWatcherOptions } from './kube/cluster-watcher.ts';
import {
  KubeconfigError,
  type KubeconfigSource,
  loadApiKubeConfigText,
  loadKubeConfig,
} from './kube/kubeconfig.ts';
import { describeKubeError } from './kube/safe-error.ts';
import type { InformerMetrics } from './metrics.ts';
import { ClusterPublisher, type FencedBy, type PublishFence } from './pipeline/cluster-publisher.ts';
import { recoverCluster } from './pipeline/recovery.ts';
import type { RegistrationStore, StoredRegistration } from './registrations/store.ts';

export type WatchSettings = Pick<
  ClusterWatcherOptions,
  | 'listPageSize'
  | 'watchTimeoutSeconds'
  | 'watchIdleTimeoutMs'
  | 'watchBookmarks'
  | 'watchdogMs'
  | 'resyncIntervalMs'
  | 'restartBackoffMs'
  | 'restartBackoffMaxMs'
>;

export interface ClusterRegistryOptions {
  bus: EventBus;
  ledger: PublishedLedger;
  logger: Logger;
  metrics: InformerMetrics;
  watch: WatchSettings;
  publishBackoff: BackoffPolicy;
  /** What a kubeconfig registered through the HTTP API may contain. */
  apiPolicy: ApiKubeconfigPolicy;
  /** Where `api` registrations are kept across restarts (issue 14, item 4). */
  store: RegistrationStore;
  /** Several replicas share the clusters: clusters run only while this replica holds their lease. */
  sharding?: RegistrySharding;
}

/** A cluster's kubeconfig: a file or text, or a loader (in-cluster). */
export type ClusterSource = KubeconfigSource | { load: () => Promise<KubeConfig> };

/** What the registry needs from the shard coordinator (see sharding/coordinator.ts). */
export interface RegistrySharding {
  /** This replica's member id. */
  readonly me: string;
  /** Page size of the per-cluster recovery read on a hand-over. */
  readonly recoveryPageSize: number;
  /**
   * True when the registration store is shared by the replicas (Redis): API registrations are
   * then sharded like configured clusters. False (memory store): an API registration is pinned to
   * the replica that took it.
   */
  readonly sharedRegistrations: boolean;
  /** The set of known clusters changed: ownership is re-checked soon. */
  changed(): void;
  /** Owner and lease end (Unix ms) of each cluster as last read from the lease store. */
  view(): ReadonlyMap<string, { owner: string; deadlineMs: number }>;
  /** Fencing-token check in the lease store, for buses that cannot enforce publish expectations. */
  check(cluster: string, token: number): Promise<boolean>;
  /** Gives a lease up. */
  release(cluster: string, token: number): Promise<void>;
}

/** A lease this replica holds on a cluster. */
export interface HeldLease {
  token: number;
  /** End of the lease by the lease store's clock (Unix ms), for the operator view. */
  deadlineMs: number;
  /** Local monotonic time (performance.now()) until which the lease is surely still held. */
  validUntil: number;
}

export type ClusterOrigin = 'config' | 'api';

/**
 * A registration or unregistration was refused: NOT_FOUND (the cluster is not registered) or
 * CONFLICT (already registered, being registered or unregistered, or the informer is stopping).
 */
export class ClusterRegistryError extends TidelineError {
  override readonly name = 'ClusterRegistryError';
  constructor(code: Extract<ErrorCode, 'NOT_FOUND' | 'CONFLICT'>, message: string) {
    super(code, message);
  }
}

interface Entry {
  readonly name: string;
  readonly origin: ClusterOrigin;
  readonly source: ClusterSource;
  /** The checked kubeconfig of an `api` registration. */
  readonly apiKubeConfig: KubeConfig | undefined;
  /** With sharding: run here whatever the hashing says (an API registration not shared with the others). */
  readonly pinned: boolean;
  /** The watch and publisher while this replica runs the cluster (always, without sharding). */
  run: Run | undefined;
  /** With sharding: a hand-over (recovery from the bus) in progress. */
  activating: boolean;
}

interface Run {
  readonly publisher: ClusterPublisher;
  watcher: ClusterWatcher | undefined;
  loadError: string | undefined;
  loadTimer: NodeJS.Timeout | undefined;
  loadFailures: number;
  stopped: boolean;
  lease: HeldLease | undefined;
}

/** Why a replica stops running a cluster: it moved to another replica, its lease was lost, or a publish was fenced. */
export type DeactivateReason = 'moved' | 'lost' | 'fenced';

/**
 * The clusters this informer watches, each with one watcher (API server side) and one publisher
 * (bus side). Registering a cluster the bus does not know as registered publishes
 * `cluster-registered` before its first node event; unregistering stops its watch and publishes
 * `cluster-removed` after its last node event. `api` registrations are kept in the registration
 * store and restored at start ({@link restore}). Clusters whose events are on the bus but which
 * are not registered (removed from the configuration, or a stored registration that could not be
 * restored) are reported as orphaned until registered or unregistered.
 */
export class ClusterRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly busy = new Set<string>();
  /** Stored registrations that could not be restored, with the reason (reported as orphaned). */
  private readonly unrestored = new Map<string, string>();
  private stopping = false;

  constructor(private readonly options: ClusterRegistryOptions) {}

  /** The publisher of a registered cluster (tests and benchmarks wait on it). */
  publisherOf(name: string): ClusterPublisher | undefined {
    return this.entries.get(name)?.run?.publisher;
  }

  watcherOf(name: string): ClusterWatcher | undefined {
    return this.entries.get(name)?.run?.watcher;
  }

  /**
   * Registers a cluster. An `api` registration is checked against the API policy before the
   * Kubernetes client sees it and fails at once when its kubeconfig is refused or cannot be used;
   * a `config` one (the operator's) is loaded as kubectl would, and keeps retrying to load it (the
   * file may not exist yet) while reporting the error.
   */
  async register(
    name: string,
    source: ClusterSource,
    origin: ClusterOrigin,
    restoring?: StoredRegistration,
  ): Promise<ClusterStatus> {
    if (this.stopping) throw new ClusterRegistryError('CONFLICT', 'the informer is stopping');
    if (this.entries.has(name))
      throw new ClusterRegistryError('CONFLICT', `cluster ${name} is already registered`);
    if (this.busy.has(name))
      throw new ClusterRegistryError('CONFLICT', `cluster ${name} is being registered or unregistered`);
    this.busy.add(name);
    try {
      let kubeConfig: KubeConfig | undefined;
      if (origin === 'api') {
        if ('load' in source) throw new Error('an api registration has a kubeconfig');
        // ---- issue 14, item 4: checked first, then stored (a restored one is already stored) ----
        const checked = await loadApiKubeConfigText(source, this.options.apiPolicy);
        kubeConfig = checked.config;
        if (!restoring)
          await this.options.store.put({
            name,
            kubeconfig: checked.text,
            context: source.context,
            registeredAt: new Date().toISOString(),
          });
        this.unrestored.delete(name);
      }
      const entry: Entry = {
        name,
        origin,
        source,
        apiKubeConfig: kubeConfig,
        pinned: origin === 'api' && this.options.sharding?.sharedRegistrations !== true,
        run: undefined,
        activating: false,
      };
      this.entries.set(name, entry);
      if (this.options.sharding) this.options.sharding.changed();
      else this.startRun(entry, this.publisherFor(name), undefined);
      this.options.logger.info({ cluster: name, origin }, 'cluster registered');
      return this.statusOf(entry);
    } finally {
      this.busy.delete(name);
    }
  }

  /**
   * Registers again every stored registration (checked against the API policy again) that is not
   * registered yet; one that cannot be restored is reported orphaned with the reason.
   */
  async restore(registrations: readonly StoredRegistration[]): Promise<void> {
    for (const stored of registrations) {
      if (this.entries.has(stored.name)) {
        if (this.entries.get(stored.name)?.origin === 'config')
          this.options.logger.warn(
            { cluster: stored.name },
            'a stored registration has the name of a configured cluster; the configured one is watched',
          );
        continue;
      }
      if (this.busy.has(stored.name)) continue;
      const source = { text: stored.kubeconfig, context: stored.context };
      try {
        await this.register(stored.name, source, 'api', stored);
      } catch (error) {
        this.unrestorable(
          stored.name,
          error instanceof KubeconfigError ? error.message : describeKubeError(error),
        );
      }
    }
  }

  /**
   * With sharding and a shared store: the desired clusters are the configured ones plus the
   * stored registrations. Registrations stored by another replica are added (standby until the
   * hashing gives them here); ones unregistered by their owner are dropped where they stand by.
   */
  async syncRegistrations(): Promise<void> {
    const stored = await this.options.store.list();
    const names = new Set(stored.map((r) => r.name));
    for (const entry of [...this.entries.values()]) {
      if (entry.origin !== 'api' || entry.run || entry.activating || this.busy.has(entry.name)) continue;
      if (!names.has(entry.name)) this.entries.delete(entry.name);
    }
    await this.restore(stored.filter((r) => !this.entries.has(r.name) && !this.unrestored.has(r.name)));
  }

  /** A stored registration that cannot be restored (refused, unreadable): reported orphaned with the reason. */
  unrestorable(name: string, reason: string): void {
    this.unrestored.set(name, reason);
    this.options.logger.error({ cluster: name, error: reason }, 'stored registration not restored');
  }

  /** Stops watching a cluster (registered here, or orphaned on the bus) and publishes `cluster-removed`. */
  async unregister(name: string): Promise<{ name: string; lastEventId: number }> {
    if (this.busy.has(name))
      throw new ClusterRegistryError('CONFLICT', `cluster ${name} is being registered or unregistered`);
    const entry = this.entries.get(name);
    const ledger = this.options.ledger.has(name) ? this.options.ledger.cluster(name) : undefined;
    if (!entry && !ledger?.registered && !this.unrestored.has(name))
      throw new ClusterRegistryError('NOT_FOUND', `cluster ${name} is not registered`);
    const sharding = this.options.sharding;
    if (sharding && entry && !entry.run) {
      const owner = sharding.view().get(name)?.owner;
      throw new ClusterRegistryError(
        'CONFLICT',
        `cluster ${name} is run by replica ${owner ?? '(none yet)'}; unregister it there`,
      );
    }
    this.busy.add(name);
    try {
      // Forgotten by the store first: if that fails, nothing changed.
      if (entry?.origin !== 'config') await this.options.store.remove(name);
      this.unrestored.delete(name);
      if (!entry && !ledger?.registered) return { name, lastEventId: ledger?.lastEventId ?? 0 };
      let publisher: ClusterPublisher;
      const run = entry?.run;
      if (run) {
        run.stopped = true;
        clearTimeout(run.loadTimer);
        await run.watcher?.stop();
        publisher = run.publisher;
      } else {
        publisher = this.publisherFor(name);
      }
      publisher.announce('cluster-removed');
      await publisher.idle();
      this.entries.delete(name);
      if (sharding && run?.lease) {
        this.options.metrics.owned.remove({ cluster: name });
        await sharding
          .release(name, run.lease.token)
          .catch((error: unknown) =>
            this.options.logger.warn(
              { cluster: name, err: error },
              'lease release failed; it runs out by itself',
            ),
          );
      }
      this.options.metrics.ready.remove({ cluster: name });
      this.options.logger.info({ cluster: name, lastEventId: publisher.lastEventId }, 'cluster unregistered');
      return { name, lastEventId: publisher.lastEventId };
    } finally {
      this.busy.delete(name);
    }
  }

  statuses(): ClusterStatus[] {
    const out = [...this.entries.values()].map((e) => this.statusOf(e));
    const view = this.options.sharding?.view();
    for (const ledger of this.options.ledger.clusters()) {
      if (ledger.registered && !this.entries.has(ledger.cluster)) {
        const lease = view?.get(ledger.cluster);
        const reason = this.unrestored.get(ledger.cluster);
        out.push({
          name: ledger.cluster,
          source: reason ? 'api' : 'bus',
          state: lease && lease.deadlineMs > Date.now() ? 'standby' : 'orphaned',
          synced: false,
          nodes: ledger.views.size,
          lastEventId: ledger.lastEventId,
          restarts: 0,
          lists: 0,
          ...(reason ? { lastError: reason } : {}),
          ...(lease ? { owner: lease.owner, leaseExpiresAt: new Date(lease.deadlineMs).toISOString() } : {}),
        });
      }
    }
    for (const [name, reason] of this.unrestored) {
      if (this.entries.has(name) || out.some((s) => s.name === name)) continue;
      out.push({
        name,
        source: 'api',
        state: 'orphaned',
        synced: false,
        nodes: 0,
        lastEventId: 0,
        restarts: 0,
        lists: 0,
        lastError: reason,
      });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Every cluster this replica runs is listed and watched. */
  ready(): boolean {
    let all = true;
    for (const entry of this.entries.values()) {
      if (this.options.sharding && !entry.run) continue;
      const ready = entry.run?.watcher?.ready ?? false;
      this.options.metrics.ready.set({ cluster: entry.name }, ready ? 1 : 0);
      // Exported at 0 from the start, so the lease-loss alert and panels see the series before any loss.
      this.options.metrics.leaseLosses.inc({ cluster: entry.name }, 0);
      all &&= ready;
    }
    return all;
  }

  /** Stops every watch, then lets each publisher finish the event in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    const runs = [...this.entries.values()].flatMap((e) => (e.run ? [e.run] : []));
    for (const run of runs) {
      run.stopped = true;
      clearTimeout(run.loadTimer);
    }
    await Promise.all(runs.map((r) => r.watcher?.stop()));
    await Promise.all(runs.map((r) => r.publisher.close()));
  }

  // --- sharding: the coordinator starts and stops runs as leases come and go ---

  /** Known clusters, each with whether it runs here whatever the hashing says. */
  known(): { name: string; pinned: boolean }[] {
    return [...this.entries.values()].map((e) => ({ name: e.name, pinned: e.pinned }));
  }

  /** True while this replica runs the cluster or is taking it over. */
  isActive(name: string): boolean {
    const entry = this.entries.get(name);
    return entry !== undefined && (entry.run !== undefined || entry.activating);
  }

  /** The leases of the clusters this replica runs. */
  heldLeases(): { cluster: string; token: number }[] {
    const out: { cluster: string; token: number }[] = [];
    for (const entry of this.entries.values())
      if (entry.run?.lease) out.push({ cluster: entry.name, token: entry.run.lease.token });
    return out;
  }

  /** A renewal extended the lease of a cluster this replica runs. */
  renewed(name: string, token: number, deadlineMs: number, validUntil: number): void {
    const lease = this.entries.get(name)?.run?.lease;
    if (lease?.token !== token) return;
    lease.deadlineMs = deadlineMs;
    lease.validUntil = validUntil;
  }

  /**
   * Takes a cluster over under a freshly acquired lease: rebuilds what was published for it from
   * the bus (by whichever replica published it), then lists and watches it; the publisher
   * publishes only differences from what the bus holds, numbered after its last id. False when
   * the cluster is unknown, already running, or stopping (the caller releases the lease).
   */
  async activate(name: string, lease: HeldLease): Promise<boolean> {
    const sharding = this.options.sharding;
    const entry = this.entries.get(name);
    if (!sharding || !entry || entry.run || entry.activating || this.stopping || this.busy.has(name))
      return false;
    entry.activating = true;
    try {
      const recovered = await recoverCluster({
        bus: this.options.bus,
        cluster: name,
        pageSize: sharding.recoveryPageSize,
        logger: this.options.logger,
      });
      if (this.stopping || this.entries.get(name) !== entry) return false;
      this.options.ledger.replace(recovered);
      const fence: PublishFence = {
        expectations: this.options.bus.enforcesExpectations === true,
        holds: () => {
          const held = entry.run?.lease;
          if (!held || held.token !== lease.token || performance.now() >= held.validUntil) return false;
          return this.options.bus.enforcesExpectations === true ? true : sharding.check(name, lease.token);
        },
        onFenced: (by: FencedBy) => void this.deactivate(name, 'fenced', by),
      };
      if (recovered.lastEventId > 0) this.options.metrics.handovers.inc({ cluster: name });
      this.options.metrics.owned.set({ cluster: name }, 1);
      this.startRun(entry, this.publisherFor(name, fence), lease);
      this.options.logger.info(
        { cluster: name, token: lease.token, lastEventId: recovered.lastEventId },
        'cluster taken over',
      );
      return true;
    } finally {
      entry.activating = false;
    }
  }

  /**
   * Stops running a cluster here. `moved`: the watch stops, the publisher publishes what it
   * already observed, then stops (the lease is still held, so the next owner starts after it);
   * `lost`/`fenced`: both stop at once, nothing more is published. Returns the token of the lease
   * that was held (for the caller to release), if any.
   */
  async deactivate(name: string, reason: DeactivateReason, by?: FencedBy): Promise<number | undefined> {
    const entry = this.entries.get(name);
    const run = entry?.run;
    if (!entry || !run || run.stopped) return undefined;
    run.stopped = true;
    clearTimeout(run.loadTimer);
    await run.watcher?.stop();
    if (reason === 'moved') await run.publisher.idle();
    await run.publisher.close();
    if (entry.run === run) entry.run = undefined;
    const { metrics } = this.options;
    metrics.owned.set({ cluster: name }, 0);
    metrics.ready.remove({ cluster: name });
    if (reason === 'lost') metrics.leaseLosses.inc({ cluster: name });
    this.options.logger.warn(
      { cluster: name, reason, ...(by ? { by } : {}), lastEventId: run.publisher.lastEventId },
      'cluster no longer run by this replica',
    );
    return run.lease?.token;
  }

  private publisherFor(cluster: string, fence?: PublishFence): ClusterPublisher {
    const { ledger, bus, publishBackoff: backoff, logger, metrics } = this.options;
    return new ClusterPublisher({
      cluster,
      ledger,
      bus,
      backoff,
      logger,
      metrics,
      ...(fence ? { fence } : {}),
    });
  }

  private startRun(entry: Entry, publisher: ClusterPublisher, lease: HeldLease | undefined): void {
    const run: Run = {
      publisher,
      watcher: undefined,
      loadError: undefined,
      loadTimer: undefined,
      loadFailures: 0,
      stopped: false,
      lease,
    };
    entry.run = run;
    if (entry.apiKubeConfig) this.startWatching(entry, run, entry.apiKubeConfig);
    else void this.loadAndWatch(entry, run, entry.source);
  }

  private statusOf(entry: Entry): ClusterStatus {
    const run = entry.run;
    const watcher = run?.watcher;
    const lastError = watcher?.lastError ?? run?.loadError;
    const sharding = this.options.sharding;
    let ownership: Pick<ClusterStatus, 'owner' | 'leaseExpiresAt'> = {};
    if (sharding && run?.lease)
      ownership = { owner: sharding.me, leaseExpiresAt: new Date(run.lease.deadlineMs).toISOString() };
    else if (sharding) {
      const lease = sharding.view().get(entry.name);
      if (lease) ownership = { owner: lease.owner, leaseExpiresAt: new Date(lease.deadlineMs).toISOString() };
    }
    if (sharding && !run) {
      const ledger = this.options.ledger.has(entry.name)
        ? this.options.ledger.cluster(entry.name)
        : undefined;
      return {
        name: entry.name,
        source: entry.origin,
        state: entry.activating ? 'starting' : 'standby',
        synced: false,
        nodes: 0,
        lastEventId: ledger?.lastEventId ?? 0,
        restarts: 0,
        lists: 0,
        ...ownership,
      };
    }
    return {
      name: entry.name,
      source: entry.origin,
      state: watcher
        ? watcher.state === 'stopped'
          ? 'retrying'
          : watcher.state
        : run?.loadError
          ? 'retrying'
          : 'starting',
      synced: watcher?.synced ?? false,
      nodes: run?.publisher.nodeCount ?? 0,
      lastEventId: run?.publisher.lastEventId ?? 0,
      restarts: watcher?.restarts ?? 0,
      lists: watcher?.lists ?? 0,
      ...(lastError ? { lastError } : {}),
      ...(watcher?.lastSyncAt ? { lastSyncAt: watcher.lastSyncAt.toISOString() } : {}),
      ...ownership,
    };
  }

  private async loadAndWatch(entry: Entry, run: Run, source: ClusterSource): Promise<void> {
    if (run.stopped) return;
    try {
      const kubeConfig = 'load' in source ? await source.load() : await loadKubeConfig(source);
      if (run.stopped) return;
      run.loadError = undefined;
      this.startWatching(entry, run, kubeConfig);
    } catch (error) {
      run.loadFailures += 1;
      run.loadError = error instanceof KubeconfigError ? error.message : describeKubeError(error);
      const { restartBackoffMs, restartBackoffMaxMs } = this.options.watch;
      const delay = retryDelayMs(
        { initialMs: restartBackoffMs, maxMs: restartBackoffMaxMs, jitter: 'full' },
        run.loadFailures - 1,
      );
      this.options.logger.warn(
        { cluster: entry.name, error: run.loadError, retryInMs: delay },
        'kubeconfig not usable yet; retrying',
      );
      run.loadTimer = setTimeout(() => void this.loadAndWatch(entry, run, source), delay);
    }
  }

  private startWatching(entry: Entry, run: Run, kubeConfig: KubeConfig): void {
    const ledger = this.options.ledger.cluster(entry.name);
    if (!ledger.registered) run.publisher.announce('cluster-registered');
    const { metrics } = this.options;
    run.watcher = new ClusterWatcher({
      ...this.options.watch,
      cluster: entry.name,
      kubeConfig,
      sink: run.publisher,
      logger: this.options.logger,
      onRestart: (reason) => metrics.restarts.inc({ cluster: entry.name, reason }),
      onList: () => metrics.lists.inc({ cluster: entry.name }),
    });
    run.watcher.start();
  }
}

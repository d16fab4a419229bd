import type { KubeConfig } from '@kubernetes/client-node';
import type { BackoffPolicy, EventBus } from '@tideline/bus';
import { type ClusterStatus, type ErrorCode, TidelineError } from '@tideline/contracts';
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
import { ClusterPublisher } from './pipeline/cluster-publisher.ts';
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
}

/** A cluster's kubeconfig: a file or text, or a loader (in-cluster). */
export type ClusterSource = KubeconfigSource | { load: () => Promise<KubeConfig> };

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
  readonly publisher: ClusterPublisher;
  watcher: ClusterWatcher | undefined;
  loadError: string | undefined;
  loadTimer: NodeJS.Timeout | undefined;
  loadFailures: number;
  stopped: boolean;
}

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
    return this.entries.get(name)?.publisher;
  }

  watcherOf(name: string): ClusterWatcher | undefined {
    return this.entries.get(name)?.watcher;
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
      const publisher = this.publisherFor(name);
      const entry: Entry = {
        name,
        origin,
        publisher,
        watcher: undefined,
        loadError: undefined,
        loadTimer: undefined,
        loadFailures: 0,
        stopped: false,
      };
      this.entries.set(name, entry);
      if (kubeConfig) this.startWatching(entry, kubeConfig);
      else void this.loadAndWatch(entry, source);
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
        this.options.logger.warn(
          { cluster: stored.name },
          'a stored registration has the name of a configured cluster; the configured one is watched',
        );
        continue;
      }
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
    this.busy.add(name);
    try {
      // Forgotten by the store first: if that fails, nothing changed.
      if (entry?.origin !== 'config') await this.options.store.remove(name);
      this.unrestored.delete(name);
      if (!entry && !ledger?.registered) return { name, lastEventId: ledger?.lastEventId ?? 0 };
      let publisher: ClusterPublisher;
      if (entry) {
        entry.stopped = true;
        clearTimeout(entry.loadTimer);
        await entry.watcher?.stop();
        publisher = entry.publisher;
      } else {
        publisher = this.publisherFor(name);
      }
      publisher.announce('cluster-removed');
      await publisher.idle();
      this.entries.delete(name);
      this.options.metrics.ready.remove({ cluster: name });
      this.options.logger.info({ cluster: name, lastEventId: publisher.lastEventId }, 'cluster unregistered');
      return { name, lastEventId: publisher.lastEventId };
    } finally {
      this.busy.delete(name);
    }
  }

  statuses(): ClusterStatus[] {
    const out = [...this.entries.values()].map((e) => this.statusOf(e));
    for (const ledger of this.options.ledger.clusters()) {
      if (ledger.registered && !this.entries.has(ledger.cluster)) {
        const reason = this.unrestored.get(ledger.cluster);
        out.push({
          name: ledger.cluster,
          source: reason ? 'api' : 'bus',
          state: 'orphaned',
          synced: false,
          nodes: ledger.views.size,
          lastEventId: ledger.lastEventId,
          restarts: 0,
          lists: 0,
          ...(reason ? { lastError: reason } : {}),
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

  /** Every registered cluster is listed and watched. */
  ready(): boolean {
    let all = true;
    for (const entry of this.entries.values()) {
      const ready = entry.watcher?.ready ?? false;
      this.options.metrics.ready.set({ cluster: entry.name }, ready ? 1 : 0);
      all &&= ready;
    }
    return all;
  }

  /** Stops every watch, then lets each publisher finish the event in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    const entries = [...this.entries.values()];
    for (const entry of entries) {
      entry.stopped = true;
      clearTimeout(entry.loadTimer);
    }
    await Promise.all(entries.map((e) => e.watcher?.stop()));
    await Promise.all(entries.map((e) => e.publisher.close()));
  }

  private publisherFor(cluster: string): ClusterPublisher {
    const { ledger, bus, publishBackoff: backoff, logger, metrics } = this.options;
    return new ClusterPublisher({ cluster, ledger, bus, backoff, logger, metrics });
  }

  private statusOf(entry: Entry): ClusterStatus {
    const watcher = entry.watcher;
    const lastError = watcher?.lastError ?? entry.loadError;
    return {
      name: entry.name,
      source: entry.origin,
      state: watcher
        ? watcher.state === 'stopped'
          ? 'retrying'
          : watcher.state
        : entry.loadError
          ? 'retrying'
          : 'starting',
      synced: watcher?.synced ?? false,
      nodes: entry.publisher.nodeCount,
      lastEventId: entry.publisher.lastEventId,
      restarts: watcher?.restarts ?? 0,
      lists: watcher?.lists ?? 0,
      ...(lastError ? { lastError } : {}),
      ...(watcher?.lastSyncAt ? { lastSyncAt: watcher.lastSyncAt.toISOString() } : {}),
    };
  }

  private async loadAndWatch(entry: Entry, source: ClusterSource): Promise<void> {
    if (entry.stopped) return;
    try {
      const kubeConfig = 'load' in source ? await source.load() : await loadKubeConfig(source);
      if (entry.stopped) return;
      entry.loadError = undefined;
      this.startWatching(entry, kubeConfig);
    } catch (error) {
      entry.loadFailures += 1;
      entry.loadError = error instanceof KubeconfigError ? error.message : describeKubeError(error);
      const { restartBackoffMs, restartBackoffMaxMs } = this.options.watch;
      const delay = Math.min(
        restartBackoffMaxMs,
        restartBackoffMs * 2 ** Math.min(entry.loadFailures - 1, 20),
      );
      this.options.logger.warn(
        { cluster: entry.name, error: entry.loadError, retryInMs: delay },
        'kubeconfig not usable yet; retrying',
      );
      entry.loadTimer = setTimeout(() => void this.loadAndWatch(entry, source), delay);
    }
  }

  private startWatching(entry: Entry, kubeConfig: Awaited<ReturnType<typeof loadKubeConfig>>): void {
    const ledger = this.options.ledger.cluster(entry.name);
    if (!ledger.registered) entry.publisher.announce('cluster-registered');
    const { metrics } = this.options;
    entry.watcher = new ClusterWatcher({
      ...this.options.watch,
      cluster: entry.name,
      kubeConfig,
      sink: entry.publisher,
      logger: this.options.logger,
      onRestart: (reason) => metrics.restarts.inc({ cluster: entry.name, reason }),
      onList: () => metrics.lists.inc({ cluster: entry.name }),
    });
    entry.watcher.start();
  }
}

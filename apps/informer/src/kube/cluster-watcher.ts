import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, ListWatch, type V1Node, type V1NodeList } from '@kubernetes/client-node';
import { Backoff } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { ObservedNode } from '../domain/node-view.ts';
import { GuardedWatch } from './guarded-watch.ts';
import { describeKubeError } from './safe-error.ts';

/** Where a watcher delivers what the API server says; the publisher behind it decides what is meaningful. */
export interface ObservedSink {
  upsert(node: ObservedNode): void;
  remove(name: string): void;
  /** A complete list: every node not in it is gone. */
  reconcile(items: readonly ObservedNode[]): void;
  /**
   * A watched update of a known node that carries nothing meaningful: true when the sink counted
   * and dropped it (it then never reaches the ListWatch's cache nor {@link upsert}).
   */
  dropUnchanged?(node: ObservedNode): boolean;
}

export interface ClusterWatcherOptions {
  cluster: string;
  kubeConfig: KubeConfig;
  sink: ObservedSink;
  logger: Logger;
  listPageSize: number;
  watchTimeoutSeconds: number;
  watchIdleTimeoutMs: number;
  watchBookmarks: boolean;
  watchdogMs: number;
  resyncIntervalMs: number;
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** Reports restarts and lists for metrics. */
  onRestart?: (reason: 'error' | 'stall') => void;
  onList?: () => void;
}

export type WatcherState = 'starting' | 'watching' | 'retrying' | 'stopped';

/** A list was abandoned because the watcher restarted or stopped meanwhile. */
class SupersededError extends Error {
  override readonly name = 'SupersededError';
}

const NODES_PATH = '/api/v1/nodes';

function isGone(error: unknown): boolean {
  const e = error as { code?: unknown; statusCode?: unknown } | undefined;
  return e?.code === 410 || e?.statusCode === 410;
}

/**
 * Keeps one @kubernetes/client-node ListWatch of `/api/v1/nodes` alive for one cluster, and feeds
 * every node it reports to the sink. Guarantees, as long as the watcher runs:
 * - after an error the library gives up on (anything but 410 and its own timeouts: connection
 *   refused, 5xx, 401, a failed list…) the ListWatch is restarted with exponential backoff
 *   (full jitter, so watchers of many clusters failing together do not retry in step), forever, resuming from the last resourceVersion when it has one (no list);
 * - a 410 (expired resourceVersion) relists, and the sink is reconciled with the complete list;
 * - a ListWatch that made no progress (no event, bookmark, watch connect or list) for
 *   `watchdogMs` is restarted: silent stalls and hung requests end;
 * - every `resyncIntervalMs` the cluster is re-listed through the library's 410 path;
 *   between resyncs, while watches keep working, no list is made.
 */
export class ClusterWatcher {
  private readonly api: CoreV1Api;
  private readonly watch: GuardedWatch;
  private readonly informer: ListWatch<V1Node>;
  private currentState: WatcherState = 'starting';
  /** Restart delays after consecutive failures; reset once a list/watch connects. */
  private readonly restartBackoff: Backoff;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastProgressAt = performance.now();
  private stopped = false;
  synced = false;
  restarts = 0;
  lists = 0;
  lastError: string | undefined;
  lastSyncAt: Date | undefined;

  constructor(private readonly options: ClusterWatcherOptions) {
    this.restartBackoff = new Backoff({
      initialMs: options.restartBackoffMs,
      maxMs: options.restartBackoffMaxMs,
      jitter: 'full',
    });
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watch = new GuardedWatch(options.kubeConfig, {
      timeoutSeconds: options.watchTimeoutSeconds,
      bookmarks: options.watchBookmarks,
      idleTimeoutMs: options.watchIdleTimeoutMs,
      onConnected: () => this.onConnected(),
      onEvent: () => this.progress(),
      skipUnchanged: (object) => options.sink.dropUnchanged?.(object as ObservedNode) ?? false,
    });
    const delay = (ms: number): Promise<void> => {
      const generation = this.watch.generation;
      // A delay of a superseded run never ends, so that run cannot open a watch after a restart.
      return sleep(ms).then(() =>
        generation === this.watch.generation && !this.stopped ? undefined : new Promise(() => {}),
      );
    };
    this.informer = new ListWatch<V1Node>(
      NODES_PATH,
      this.watch,
      () => this.listAll(),
      false,
      undefined,
      undefined,
      {
        delayFn: delay,
      },
    );
    this.informer.on('add', (node) => options.sink.upsert(node as ObservedNode));
    this.informer.on('update', (node) => options.sink.upsert(node as ObservedNode));
    this.informer.on('delete', (node) => {
      if (node.metadata?.name) options.sink.remove(node.metadata.name);
    });
    this.informer.on('error', (error) => this.onLibraryError(error));
  }

  get state(): WatcherState {
    return this.currentState;
  }

  /** The last resourceVersion the ListWatch saw (list, event or bookmark); empty before the first list and while relisting. */
  get resourceVersion(): string {
    return this.informer.latestResourceVersion();
  }

  /** Listed at least once and watching now. */
  get ready(): boolean {
    return this.synced && this.currentState === 'watching';
  }

  start(): void {
    this.run();
    const checkEvery = Math.max(25, Math.floor(this.options.watchdogMs / 4));
    this.watchdogTimer = setInterval(() => this.checkProgress(), checkEvery);
    this.watchdogTimer.unref();
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncIntervalMs);
    this.resyncTimer.unref();
  }

  /** Re-lists now through the library's 410 path; nothing when no watch is open (a list is then due anyway or under way). */
  private resync(): void {
    if (this.stopped || this.currentState !== 'watching') return;
    this.options.logger.info({ cluster: this.options.cluster }, 'resync: re-listing nodes');
    this.watch.expireCurrent();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.currentState = 'stopped';
    clearTimeout(this.restartTimer);
    clearInterval(this.watchdogTimer);
    clearInterval(this.resyncTimer);
    this.watch.invalidate();
    await this.informer.stop();
  }

  private run(): void {
    this.lastProgressAt = performance.now();
    this.informer.start().catch((error: unknown) => this.onLibraryError(error));
  }

  private restart(reason: 'error' | 'stall'): void {
    if (this.stopped) return;
    this.restarts += 1;
    this.options.onRestart?.(reason);
    this.watch.invalidate();
    this.run();
  }

  private progress(): void {
    this.lastProgressAt = performance.now();
  }

  private onConnected(): void {
    this.progress();
    this.restartBackoff.reset();
    this.currentState = 'watching';
  }

  private onLibraryError(error: unknown): void {
    if (this.stopped || error instanceof SupersededError) return;
    this.currentState = 'retrying';
    // Class, HTTP status and errno code only: a message can carry an exec plugin's stderr or a server's answer.
    this.lastError = describeKubeError(error);
    const delay = this.restartBackoff.next();
    this.options.logger.warn(
      { cluster: this.options.cluster, error: this.lastError, retryInMs: delay },
      'list/watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.restart('error'), delay);
  }

  private checkProgress(): void {
    if (this.stopped || this.currentState === 'retrying') return;
    const idle = performance.now() - this.lastProgressAt;
    if (idle < this.options.watchdogMs) return;
    this.options.logger.warn(
      { cluster: this.options.cluster, idleMs: Math.round(idle) },
      'list/watch made no progress; restarting',
    );
    this.restart('stall');
  }

  /** The whole node list, page by page, as one list at the first page's resourceVersion. */
  private async listAll(): Promise<V1NodeList> {
    const generation = this.watch.generation;
    const limit = this.options.listPageSize > 0 ? this.options.listPageSize : undefined;
    let list: V1NodeList | undefined;
    for (let attempt = 1; list === undefined; attempt++) {
      const items: V1Node[] = [];
      let resourceVersion: string | undefined;
      let token: string | undefined;
      try {
        do {
          const page = await this.api.listNode({
            ...(limit ? { limit } : {}),
            ...(token ? { _continue: token } : {}),
          });
          this.progress();
          if (generation !== this.watch.generation || this.stopped)
            throw new SupersededError('list superseded');
          items.push(...page.items);
          resourceVersion ??= page.metadata?.resourceVersion;
          token = page.metadata?._continue || undefined;
        } while (token);
        list = { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion }, items };
      } catch (error) {
        // A continue token that expired mid-list: start the list over once, as client-go does.
        if (isGone(error) && items.length > 0 && attempt === 1) continue;
        throw error;
      }
    }
    this.lists += 1;
    this.options.onList?.();
    this.synced = true;
    this.lastSyncAt = new Date();
    this.options.sink.reconcile(list.items as ObservedNode[]);
    return list;
  }
}

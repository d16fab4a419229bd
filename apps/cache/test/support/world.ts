import { randomUUID } from 'node:crypto';
import type { EventBus } from '@tideline/bus';
import { type RunningInformer, startInformer, toNodeView } from '@tideline/informer';
import { testInformerEnv } from '@tideline/informer/testing';
import type { KubeTestServerOptions } from '@tideline/kube-test-server';
import {
  eventually,
  NodeEventLog,
  openTestBus,
  removeStreams,
  TestCluster,
  testServiceEnv,
  uniquePrefix,
} from '@tideline/test-support';
import { Redis } from 'ioredis';
import { type RunningCache, startCache } from '../../src/index.ts';

export const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface WorldOptions {
  clusters?: ({ name: string; nodes: number } & KubeTestServerOptions)[];
  informerEnv?: Record<string, string>;
  cacheEnv?: Record<string, string>;
  /** Start the informer with the clusters registered from configuration (default true). */
  startInformer?: boolean;
}

/**
 * One test's private world on the shared NATS and Redis: Kubernetes API test servers, an informer
 * and a cache under a bus prefix and stateful namespace of their own, and a log of every event of
 * the nodes topic. Everything is stopped and removed on dispose.
 */
export class NodesWorld {
  readonly prefix = uniquePrefix('nw');
  readonly namespace = `nwtest-${randomUUID().slice(0, 8)}`;
  readonly clusters = new Map<string, TestCluster>();
  bus!: EventBus;
  log!: NodeEventLog;
  informer: RunningInformer | undefined;
  cache: RunningCache | undefined;
  private readonly disposers: (() => Promise<unknown>)[] = [];

  private constructor(private readonly options: WorldOptions) {}

  /**
   * Starts the world; when the informer starts with it, resolves once every configured cluster
   * is {@link synced}. A world that fails to start is disposed before the error is thrown.
   */
  static async create(options: WorldOptions = {}): Promise<NodesWorld> {
    const world = new NodesWorld(options);
    world.bus = await openTestBus(world.prefix);
    try {
      world.log = await NodeEventLog.open(world.bus);
      for (const spec of options.clusters ?? []) await world.addCluster(spec.name, spec.nodes, spec);
      if (options.startInformer ?? true) await world.startInformer();
      await world.startCache();
      if (world.informer) for (const name of world.clusters.keys()) await world.synced(name);
    } catch (error) {
      await world[Symbol.asyncDispose]();
      throw error;
    }
    return world;
  }

  async addCluster(name: string, nodes: number, options: KubeTestServerOptions = {}): Promise<TestCluster> {
    const cluster = await TestCluster.start({ ...options, name, nodes });
    this.clusters.set(name, cluster);
    return cluster;
  }

  cluster(name: string): TestCluster {
    return this.clusters.get(name)!;
  }

  informerEnv(extra: Record<string, string> = {}): Record<string, string> {
    return testInformerEnv({
      prefix: this.prefix,
      clusters: [...this.clusters.values()],
      env: { ...this.options.informerEnv, ...extra },
    });
  }

  cacheEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...testServiceEnv(this.prefix),
      TIDELINE_CACHE_PORT: '0',
      TIDELINE_CACHE_HOST: '127.0.0.1',
      TIDELINE_REDIS_URL: REDIS_URL,
      TIDELINE_STATEFUL_NAMESPACE: this.namespace,
      ...this.options.cacheEnv,
      ...extra,
    };
  }

  async startInformer(extra: Record<string, string> = {}): Promise<RunningInformer> {
    this.informer = await startInformer({ source: { env: this.informerEnv(extra) } });
    return this.informer;
  }

  async stopInformer(): Promise<void> {
    await this.informer?.stop('test');
    this.informer = undefined;
  }

  async startCache(extra: Record<string, string> = {}): Promise<RunningCache> {
    this.cache = await startCache({ source: { env: this.cacheEnv(extra) } });
    return this.cache;
  }

  async stopCache(): Promise<void> {
    await this.cache?.stop('test');
    this.cache = undefined;
  }

  /** Stops something else with the world (a gateway, a socket). */
  defer(dispose: () => Promise<unknown>): void {
    this.disposers.push(dispose);
  }

  /**
   * Waits until the informer watches `cluster` and has seen every change the API server made so
   * far, published all of it, and the cache applied it (and the world's event log read it).
   */
  async synced(cluster: string, timeoutMs = 15_000): Promise<void> {
    const server = this.cluster(cluster).server;
    await eventually(() => {
      const informer = this.informer;
      const publisher = informer?.registry.publisherOf(cluster);
      const watcher = informer?.registry.watcherOf(cluster);
      if (!publisher || !watcher?.ready || publisher.busy || publisher.lastEventId === 0) return false;
      if (Number(watcher.resourceVersion || '0') < server.resourceVersion) return false;
      return (
        this.cache?.model.lastEventIdOf(cluster) === publisher.lastEventId &&
        this.log.lastIdOf(cluster) === publisher.lastEventId
      );
    }, timeoutMs);
  }

  /** The views of the nodes the API server holds now, by name (what the cache must equal). */
  serverViews(cluster: string) {
    return this.cluster(cluster)
      .server.listNodes()
      .map((n) => toNodeView(n));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const dispose of this.disposers.splice(0).reverse()) await dispose().catch(() => undefined);
    await this.informer?.stop('test done').catch(() => undefined);
    await this.cache?.stop('test done').catch(() => undefined);
    await this.log?.close().catch(() => undefined);
    await this.bus.drain().catch(() => undefined);
    for (const cluster of this.clusters.values()) await cluster[Symbol.asyncDispose]();
    await removeStreams(this.prefix);
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await redis.keys(`*${this.namespace}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }
}

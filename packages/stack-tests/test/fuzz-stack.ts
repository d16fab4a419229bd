import { type RunningCache, startCache } from '@tideline/cache';
import { type RunningInformer, startInformer } from '@tideline/informer';
import { testInformerEnv } from '@tideline/informer/testing';
import { startPushGateway } from '@tideline/push-gateway';
import {
  removeStreams,
  TestCluster,
  TestDatabase,
  testServiceEnv,
  uniquePrefix,
} from '@tideline/test-support';
import { startWebsiteApi, type WebsiteApi } from '@tideline/website-api';
import { Redis } from 'ioredis';
import pg from 'pg';

const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

type RunningGateway = Awaited<ReturnType<typeof startPushGateway>>;

/** One running service of the fuzz stack, as an attacker reaches it (its URL) and as the test knows it. */
export interface FuzzService {
  name: 'website-api' | 'cache' | 'informer' | 'push-gateway';
  url: string;
  port: number;
  /** The instance that answered at start; a restart would be another. */
  instanceId: string;
  /** Whether this very instance is still listening. */
  listening(): boolean;
}

/** Rows that a refused write must not change: website-api's tables and the informer's clusters. */
export interface WrittenState {
  lineGroups: number;
  websites: number;
  domains: number;
  events: number;
  clusters: string[];
}

/**
 * The four services in this process against the real PostgreSQL (a throwaway database), Redis
 * and NATS under a prefix of their own, with a Kubernetes API test server as cluster `fuzz`.
 * Limits that would answer fuzz cases with RATE_LIMITED before their input is even looked at
 * (website-api writes, socket events) are raised, so that the input itself is what is tested.
 */
export class FuzzStack {
  private constructor(
    readonly prefix: string,
    readonly namespace: string,
    readonly cluster: TestCluster,
    readonly database: TestDatabase,
    readonly sql: pg.Pool,
    readonly websiteApi: WebsiteApi,
    readonly cache: RunningCache,
    readonly informer: RunningInformer,
    readonly gateway: RunningGateway,
  ) {}

  static readonly CLUSTER = 'fuzz';

  static async start(options: { nodes: number }): Promise<FuzzStack> {
    const cluster = await TestCluster.start({ name: FuzzStack.CLUSTER, nodes: options.nodes });
    const database = await TestDatabase.create('tideline_fuzz');
    const prefix = uniquePrefix('fuzz');
    const namespace = `fuzz-${prefix}`;
    const common = {
      ...testServiceEnv(prefix),
      TIDELINE_REDIS_URL: REDIS_URL,
      TIDELINE_STATEFUL_NAMESPACE: namespace,
    };
    const started: { stop(reason?: string): Promise<void> }[] = [];
    const track = <T extends { stop(reason?: string): Promise<void> }>(service: T): T => {
      started.push(service);
      return service;
    };
    try {
      const websiteApi = track(
        await startWebsiteApi({
          source: {
            env: {
              ...common,
              TIDELINE_WEBSITE_API_PORT: '0',
              TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
              TIDELINE_DATABASE_URL: database.url,
              TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
              TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `${namespace}:writes:`,
            },
          },
        }),
      );
      const informer = track(
        await startInformer({
          source: { env: testInformerEnv({ prefix, clusters: [cluster], env: common }) },
        }),
      );
      const cache = track(
        await startCache({
          source: { env: { ...common, TIDELINE_CACHE_PORT: '0', TIDELINE_CACHE_HOST: '127.0.0.1' } },
        }),
      );
      const gateway = track(
        await startPushGateway({
          source: {
            env: {
              ...common,
              TIDELINE_GATEWAY_PORT: '0',
              TIDELINE_GATEWAY_HOST: '127.0.0.1',
              TIDELINE_GATEWAY_ADAPTER_KEY: `${namespace}:socket.io`,
              TIDELINE_GATEWAY_WEBSITE_API_URL: websiteApi.url,
              TIDELINE_GATEWAY_CACHE_URL: cache.url,
              TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: '100000',
              // The fuzz cases ask for snapshots over and over on one socket to reach every handler;
              // the re-snapshot limit has its own tests (push-gateway exhaustion).
              TIDELINE_GATEWAY_RESNAPSHOT_INTERVAL_MS: '0',
            },
          },
        }),
      );
      const sql = new pg.Pool({ connectionString: database.url, max: 2 });
      return new FuzzStack(prefix, namespace, cluster, database, sql, websiteApi, cache, informer, gateway);
    } catch (error) {
      for (const service of started.reverse()) await service.stop('start failed').catch(() => undefined);
      await cluster[Symbol.asyncDispose]();
      await database[Symbol.asyncDispose]();
      await removeStreams(prefix);
      throw error;
    }
  }

  get services(): FuzzService[] {
    const of = (
      name: FuzzService['name'],
      running: { url: string; port: number; instanceId: string; http: { server: { listening: boolean } } },
    ): FuzzService => ({
      name,
      url: running.url,
      port: running.port,
      instanceId: running.instanceId,
      listening: () => running.http.server.listening,
    });
    return [
      of('website-api', this.websiteApi),
      of('cache', this.cache),
      of('informer', this.informer),
      of('push-gateway', this.gateway),
    ];
  }

  service(name: FuzzService['name']): FuzzService {
    return this.services.find((s) => s.name === name)!;
  }

  async written(): Promise<WrittenState> {
    const { rows } = await this.sql.query<Omit<WrittenState, 'clusters'>>(
      `SELECT (SELECT count(*)::int FROM line_groups) AS "lineGroups",
              (SELECT count(*)::int FROM websites) AS websites,
              (SELECT count(*)::int FROM website_domains) AS domains,
              (SELECT count(*)::int FROM ws_events) AS events`,
    );
    const clusters = this.informer.registry
      .statuses()
      .map((s) => s.name)
      .sort();
    return { ...rows[0]!, clusters };
  }

  async stop(): Promise<void> {
    await this.gateway.stop('fuzz done').catch(() => undefined);
    await this.cache.stop('fuzz done').catch(() => undefined);
    await this.informer.stop('fuzz done').catch(() => undefined);
    await this.websiteApi.stop('fuzz done').catch(() => undefined);
    await this.sql.end();
    await this.cluster[Symbol.asyncDispose]();
    await this.database[Symbol.asyncDispose]();
    await removeStreams(this.prefix);
    await removeKeys(`*${this.namespace}*`);
  }
}

async function removeKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (found.length > 0) await redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

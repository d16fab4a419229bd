import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeTestServer } from '@tideline/kube-test-server';
import { REPO_ROOT, ServiceProcess } from '@tideline/stack-tests';
import {
  DisposableKafka,
  DisposableServer,
  FaultProxy,
  freePort,
  restartablePort,
  TEST_JWT,
  TEST_NATS_URL,
  TestDatabase,
} from '@tideline/test-support';

export type BusKind = 'nats' | 'kafka';

export interface ChaosStackOptions {
  /** The transport (default: TIDELINE_BUS, else nats). */
  bus?: BusKind;
  /** Run a private `nats-server -js` (own port, own store) instead of the shared one (nats only). */
  privateNats?: boolean;
  /** Run a private `redis-server` instead of the shared one. */
  privateRedis?: boolean;
  /**
   * Run a private single-node Kafka (own ports, own data directory) instead of the shared one
   * (kafka only). With {@link brokerProxyForGateway}, that gateway reaches it through a listener
   * whose advertised address is the proxy, so cutting the proxy cuts every connection it has.
   */
  privateKafka?: boolean;
  /** Kafka bootstrap servers (default: TIDELINE_KAFKA_BROKERS, else 127.0.0.1:9092). */
  kafkaBrokers?: string;
  /** Put a FaultProxy between website-api (its writes and its relay) and PostgreSQL. */
  postgresProxy?: boolean;
  /**
   * Put a FaultProxy between gateway number `brokerProxyForGateway` (0-based) and the broker, to
   * partition that gateway alone. Over Kafka this needs {@link privateKafka} (the proxy is then the
   * advertised address of the gateway's listener); on a shared Kafka the proxy fronts the bootstrap
   * address only (the broker's advertised address is reached directly after metadata).
   */
  brokerProxyForGateway?: number;
  /** Extra environment per gateway (index 0, 1). */
  gatewayEnv?: Record<string, string>[];
  /** Extra environment for every service. */
  serviceEnv?: Record<string, string>;
  /** Nodes the Kubernetes test server starts with. */
  nodes?: number;
  /** Log level of the services (default: TIDELINE_LOG_LEVEL, else info). Logs: infra/.run/stack-tests/chaos-*.log. */
  logLevel?: string;
}

/** A stack of processes under the chaos runner's control. */
export interface ChaosStack {
  bus: BusKind;
  /** Unique per stack: bus prefix, Redis namespace, log names. */
  prefix: string;
  cluster: string;
  websiteApiUrl: string;
  cacheUrl: string;
  informerUrl: string;
  gatewayUrls: string[];
  jwt: { secret: string; issuer: string; audience: string };
  /** The database (direct, not through the proxy): for the truth. */
  databaseUrl: string;
  /** The bus settings of the services (direct, not through a proxy): for the truth and for publishing. */
  busEnv: Record<string, string>;
  kube: KubeTestServer;
  websiteApi: ServiceProcess;
  cache: ServiceProcess;
  informer: ServiceProcess;
  gateways: ServiceProcess[];
  nats?: DisposableServer;
  redis?: DisposableServer;
  kafka?: DisposableKafka;
  postgresProxy?: FaultProxy;
  brokerProxy?: FaultProxy;
  /** Stops the process (SIGTERM: drain; SIGKILL: crash), then starts it again and waits until ready. */
  restart(process: ServiceProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Bound on one service's start until ready: a bound, not an expectation (idle, a service is ready in
 * 2–5 s; on a loaded 2-core machine, compiling its TypeScript and connecting to a freshly started
 * private Kafka took over 60 s for both gateways of one stack).
 */
const READY_TIMEOUT_MS = 180_000;
/** The largest TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX the setting accepts. */
const WRITE_RATE_LIMIT_MAX = 1_000_000;
/** Stacks started and not stopped yet: what {@link stopAllStacks} stops (a CLI interrupted mid-run). */
const activeStacks = new Set<ChaosStack>();

/** Stops every chaos stack of this process that is still running (for SIGINT/SIGTERM handlers). */
export async function stopAllStacks(): Promise<void> {
  await Promise.all([...activeStacks].map((s) => s.stop()));
}
export const CHAOS_CLUSTER = 'chaos';
const DEFAULT_NODES = 6;

/**
 * website-api, cache, informer and two push-gateways as processes on a throwaway database, a unique
 * bus prefix and Redis namespace, with the Kubernetes API test server as cluster `chaos`; private
 * NATS/Redis and fault proxies on request (see {@link ChaosStackOptions}).
 */
export async function startChaosStack(options: ChaosStackOptions = {}): Promise<ChaosStack> {
  const env = process.env;
  const bus: BusKind = options.bus ?? (env['TIDELINE_BUS'] === 'kafka' ? 'kafka' : 'nats');
  const prefix = `chaos${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const db = await TestDatabase.create('tideline_chaos');
    cleanups.push(() => db[Symbol.asyncDispose]());
    const nats = options.privateNats && bus === 'nats' ? await DisposableServer.nats() : undefined;
    if (nats) cleanups.push(() => nats[Symbol.asyncDispose]());
    const redis = options.privateRedis ? await DisposableServer.redis() : undefined;
    if (redis) cleanups.push(() => redis[Symbol.asyncDispose]());
    const natsUrl = nats?.url ?? env['TIDELINE_NATS_URL'] ?? TEST_NATS_URL;
    // A private Kafka's proxied listener needs the proxy's port before the broker starts.
    const kafkaListenerPort = options.privateKafka && bus === 'kafka' ? await restartablePort() : undefined;
    const kafkaProxy =
      kafkaListenerPort !== undefined && options.brokerProxyForGateway !== undefined
        ? await FaultProxy.to(kafkaListenerPort)
        : undefined;
    if (kafkaProxy) cleanups.push(() => kafkaProxy[Symbol.asyncDispose]());
    const kafka =
      kafkaListenerPort !== undefined
        ? await DisposableKafka.start(
            kafkaProxy
              ? { proxiedListener: { port: kafkaListenerPort, advertisedPort: kafkaProxy.port } }
              : {},
          )
        : undefined;
    if (kafka) cleanups.push(() => kafka[Symbol.asyncDispose]());
    const kafkaBrokers =
      kafka?.brokersEnv ?? options.kafkaBrokers ?? env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092';

    const common: Record<string, string> = {
      TIDELINE_ENV: 'test',
      TIDELINE_LOG_LEVEL: options.logLevel ?? env['TIDELINE_LOG_LEVEL'] ?? 'info',
      TIDELINE_JWT_SECRET: TEST_JWT.secret,
      TIDELINE_DATABASE_URL: db.url,
      TIDELINE_BUS: bus,
      TIDELINE_BUS_PREFIX: prefix,
      TIDELINE_NATS_URL: natsUrl,
      TIDELINE_KAFKA_BROKERS: kafkaBrokers,
      TIDELINE_GATEWAY_ADAPTER_KEY: `${prefix}-sio`,
      TIDELINE_STATEFUL_NAMESPACE: prefix,
      TIDELINE_SHUTDOWN_TIMEOUT_MS: '5000',
      ...(redis
        ? { TIDELINE_REDIS_URL: redis.url }
        : env['TIDELINE_REDIS_URL']
          ? { TIDELINE_REDIS_URL: env['TIDELINE_REDIS_URL'] }
          : {}),
      ...options.serviceEnv,
    };

    const migrate = spawnSync('npm', ['run', '--silent', 'db:migrate'], {
      cwd: REPO_ROOT,
      env: { ...env, ...common },
      encoding: 'utf8',
    });
    if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);

    const postgresProxy = options.postgresProxy
      ? await FaultProxy.to(Number(new URL(db.url).port || 5432), new URL(db.url).hostname)
      : undefined;
    if (postgresProxy) cleanups.push(() => postgresProxy[Symbol.asyncDispose]());
    const proxiedDbUrl = (() => {
      if (!postgresProxy) return db.url;
      const u = new URL(db.url);
      u.hostname = '127.0.0.1';
      u.port = String(postgresProxy.port);
      return u.toString();
    })();

    let brokerProxy: FaultProxy | undefined = kafkaProxy;
    const brokerEnvFor = (proxy: FaultProxy): Record<string, string> => {
      if (bus === 'nats') return { TIDELINE_NATS_URL: `nats://127.0.0.1:${proxy.port}` };
      const rest = kafkaBrokers.split(',').slice(1);
      return { TIDELINE_KAFKA_BROKERS: [`127.0.0.1:${proxy.port}`, ...rest].join(',') };
    };
    if (options.brokerProxyForGateway !== undefined && !brokerProxy) {
      const target = bus === 'nats' ? new URL(natsUrl) : new URL(`kafka://${kafkaBrokers.split(',')[0]}`);
      brokerProxy = await FaultProxy.to(Number(target.port), target.hostname);
      const proxy = brokerProxy;
      cleanups.push(() => proxy[Symbol.asyncDispose]());
    }

    const kube = await KubeTestServer.start();
    cleanups.push(() => kube.close());
    for (let i = 1; i <= (options.nodes ?? DEFAULT_NODES); i++) kube.addNode(`node-${i}`);
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'tideline-chaos-')), 'kubeconfig.yaml');
    writeFileSync(kubeconfig, kube.kubeconfig({ cluster: CHAOS_CLUSTER }));

    const [apiPort, cachePort, informerPort, gw1Port, gw2Port] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const service = (name: string, entry: string, port: number, extra: Record<string, string>) =>
      new ServiceProcess({
        name: `${prefix}-${name}`,
        entry,
        env: { ...common, ...extra },
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        readyTimeoutMs: READY_TIMEOUT_MS,
      });
    const websiteApi = service('website-api', 'apps/website-api/src/main.ts', apiPort!, {
      TIDELINE_WEBSITE_API_PORT: String(apiPort),
      // The writers are the load under test, not a client to throttle: the per-subject write limit at its maximum.
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: String(WRITE_RATE_LIMIT_MAX),
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `${prefix}-wrl`,
      TIDELINE_DATABASE_URL: proxiedDbUrl,
    });
    const cache = service('cache', 'apps/cache/src/main.ts', cachePort!, {
      TIDELINE_CACHE_PORT: String(cachePort),
    });
    const informer = service('informer', 'apps/informer/src/main.ts', informerPort!, {
      TIDELINE_INFORMER_PORT: String(informerPort),
      TIDELINE_INFORMER_CLUSTERS: `${CHAOS_CLUSTER}=${kubeconfig}`,
    });
    const gateways = [gw1Port!, gw2Port!].map((port, i) =>
      service(`push-gateway-${i + 1}`, 'apps/push-gateway/src/main.ts', port, {
        TIDELINE_GATEWAY_PORT: String(port),
        TIDELINE_INSTANCE_ID: `${prefix}-gw${i + 1}`,
        TIDELINE_GATEWAY_WEBSITE_API_URL: `http://127.0.0.1:${apiPort}`,
        TIDELINE_GATEWAY_CACHE_URL: `http://127.0.0.1:${cachePort}`,
        // One failed sync opens the breaker, so a single probe client shows it opening and closing.
        TIDELINE_GATEWAY_BREAKER_FAILURE_THRESHOLD: '1',
        ...(brokerProxy && options.brokerProxyForGateway === i ? brokerEnvFor(brokerProxy) : {}),
        ...options.gatewayEnv?.[i],
      }),
    );
    const all = [websiteApi, cache, informer, ...gateways];
    cleanups.push(async () => {
      for (const p of [...all].reverse()) await p.stop('SIGTERM');
    });

    await Promise.all([websiteApi.start(), cache.start()]);
    await informer.start();
    await Promise.all(gateways.map((g) => g.start()));

    const stack: ChaosStack = {
      bus,
      prefix,
      cluster: CHAOS_CLUSTER,
      websiteApiUrl: `http://127.0.0.1:${apiPort}`,
      cacheUrl: `http://127.0.0.1:${cachePort}`,
      informerUrl: `http://127.0.0.1:${informerPort}`,
      gatewayUrls: [`http://127.0.0.1:${gw1Port}`, `http://127.0.0.1:${gw2Port}`],
      jwt: { secret: TEST_JWT.secret, issuer: TEST_JWT.issuer, audience: TEST_JWT.audience },
      databaseUrl: db.url,
      busEnv: common,
      kube,
      websiteApi,
      cache,
      informer,
      gateways,
      ...(nats ? { nats } : {}),
      ...(redis ? { redis } : {}),
      ...(kafka ? { kafka } : {}),
      ...(postgresProxy ? { postgresProxy } : {}),
      ...(brokerProxy ? { brokerProxy } : {}),
      restart: async (p, signal) => {
        await p.stop(signal);
        await p.start();
      },
      stop: async () => {
        activeStacks.delete(stack);
        await runCleanups(cleanups);
      },
    };
    activeStacks.add(stack);
    return stack;
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}

async function runCleanups(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // best effort: the rest still runs
    }
  }
}

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { KubeTestServer } from '@tideline/kube-test-server';
import { freePort, TEST_JWT, TestDatabase } from '@tideline/test-support';
import { REPO_ROOT, ServiceProcess } from './process.ts';

/** What scenarios may touch: public URLs, and (local topology only) the processes and the cluster. */
export interface Stack {
  mode: 'local' | 'target';
  websiteApiUrl: string;
  cacheUrl: string;
  /** The informer (cluster administration, scope clusters:admin). */
  informerUrl: string;
  gatewayUrls: string[];
  jwt: { secret: string; issuer: string; audience: string };
  /** Bus settings the services use, so scenarios can publish (targeted pushes) like a backend service. */
  busEnv: Record<string, string>;
  /** The Kubernetes API test server behind cluster `cluster` (local topology only). */
  kube?: KubeTestServer;
  cluster: string;
  gateways: ServiceProcess[];
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
export const STACK_CLUSTER = 'stack';
export const STACK_NODES = 6;

/**
 * The topology of docker-compose.yml as local processes: website-api, cache, informer and two
 * push-gateways against local PostgreSQL (a throwaway database), Redis and the broker, with a
 * Kubernetes API test server as the cluster. With `TIDELINE_STACK_GATEWAY_URLS` set, targets an
 * already-running deployment instead (`TIDELINE_STACK_WEBSITE_API_URL`, `TIDELINE_STACK_CACHE_URL`,
 * `TIDELINE_STACK_JWT_SECRET`, `TIDELINE_STACK_CLUSTER`); scenarios that need to kill processes or
 * change the cluster are then skipped and say so. `options.env` is added to every service's environment.
 */
export async function startStack(
  options: {
    /** Added to every service's environment (local topology only), e.g. tracing settings. */
    env?: Record<string, string>;
  } = {},
): Promise<Stack> {
  const env = process.env;
  if (env['TIDELINE_STACK_GATEWAY_URLS']) {
    return {
      mode: 'target',
      websiteApiUrl: env['TIDELINE_STACK_WEBSITE_API_URL'] ?? 'http://127.0.0.1:3001',
      cacheUrl: env['TIDELINE_STACK_CACHE_URL'] ?? 'http://127.0.0.1:3002',
      informerUrl: env['TIDELINE_STACK_INFORMER_URL'] ?? 'http://127.0.0.1:3003',
      gatewayUrls: env['TIDELINE_STACK_GATEWAY_URLS'].split(','),
      jwt: {
        secret: env['TIDELINE_STACK_JWT_SECRET'] ?? DEVELOPMENT_JWT_SECRET,
        issuer: 'tideline',
        audience: 'tideline',
      },
      busEnv: {},
      cluster: env['TIDELINE_STACK_CLUSTER'] ?? 'demo',
      gateways: [],
      stop: async () => {},
    };
  }

  const db = await TestDatabase.create('tideline_stack');
  const busPrefix = `stack${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const common: Record<string, string> = {
    TIDELINE_ENV: 'test',
    TIDELINE_LOG_LEVEL: env['TIDELINE_LOG_LEVEL'] ?? 'info',
    TIDELINE_JWT_SECRET: TEST_JWT.secret,
    TIDELINE_DATABASE_URL: db.url,
    TIDELINE_BUS: env['TIDELINE_BUS'] ?? 'nats',
    TIDELINE_BUS_PREFIX: busPrefix,
    TIDELINE_GATEWAY_ADAPTER_KEY: `${busPrefix}-sio`,
    TIDELINE_STATEFUL_NAMESPACE: busPrefix,
  };
  for (const key of ['TIDELINE_NATS_URL', 'TIDELINE_KAFKA_BROKERS', 'TIDELINE_REDIS_URL'])
    if (env[key]) common[key] = env[key]!;
  // Settings a scenario gives every service (tracing, the console origin on the operator endpoints, …).
  Object.assign(common, options.env);

  const migrate = spawnSync('npm', ['run', '--silent', 'db:migrate'], {
    cwd: REPO_ROOT,
    env: { ...env, ...common },
    encoding: 'utf8',
  });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);

  const kube = await KubeTestServer.start();
  for (let i = 1; i <= STACK_NODES; i++) kube.addNode(`node-${i}`);
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'tideline-stack-')), 'kubeconfig.yaml');
  writeFileSync(kubeconfig, kube.kubeconfig({ cluster: STACK_CLUSTER }));

  const [apiPort, cachePort, informerPort, gw1Port, gw2Port] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const service = (name: string, entry: string, port: number, extra: Record<string, string>) =>
    new ServiceProcess({
      name,
      entry,
      env: { ...common, ...extra },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
  const websiteApi = service('website-api', 'apps/website-api/src/main.ts', apiPort!, {
    TIDELINE_WEBSITE_API_PORT: String(apiPort),
  });
  const cache = service('cache', 'apps/cache/src/main.ts', cachePort!, {
    TIDELINE_CACHE_PORT: String(cachePort),
  });
  const informer = service('informer', 'apps/informer/src/main.ts', informerPort!, {
    TIDELINE_INFORMER_PORT: String(informerPort),
    TIDELINE_INFORMER_CLUSTERS: `${STACK_CLUSTER}=${kubeconfig}`,
    // Scenarios re-register the test cluster through the API: its API server is plain http on loopback.
    TIDELINE_INFORMER_API_ALLOW_INSECURE_SERVERS: 'true',
    TIDELINE_INFORMER_API_SERVER_HOSTS: '127.0.0.1',
  });
  const gateway = (n: number, port: number) =>
    service(`push-gateway-${n}`, 'apps/push-gateway/src/main.ts', port, {
      TIDELINE_GATEWAY_PORT: String(port),
      TIDELINE_INSTANCE_ID: `${busPrefix}-gw${n}`,
      TIDELINE_GATEWAY_WEBSITE_API_URL: `http://127.0.0.1:${apiPort}`,
      TIDELINE_GATEWAY_CACHE_URL: `http://127.0.0.1:${cachePort}`,
    });
  const gateways = [gateway(1, gw1Port!), gateway(2, gw2Port!)];
  const all = [websiteApi, cache, informer, ...gateways];

  await Promise.all([websiteApi.start(), cache.start()]);
  await informer.start();
  await Promise.all(gateways.map((g) => g.start()));

  return {
    mode: 'local',
    websiteApiUrl: `http://127.0.0.1:${apiPort}`,
    cacheUrl: `http://127.0.0.1:${cachePort}`,
    informerUrl: `http://127.0.0.1:${informerPort}`,
    gatewayUrls: [`http://127.0.0.1:${gw1Port}`, `http://127.0.0.1:${gw2Port}`],
    jwt: { ...TEST_JWT },
    busEnv: common,
    kube,
    cluster: STACK_CLUSTER,
    gateways,
    stop: async () => {
      for (const p of [...all].reverse()) await p.stop('SIGTERM');
      await kube.close();
      await db[Symbol.asyncDispose]();
    },
  };
}

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commonSettings, DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BASE = `${ROOT}docker-compose.yml`;
const DEV_OVERRIDE = `${ROOT}docker-compose.dev.yml`;
const DEV_ENV_FILE = `${ROOT}infra/compose/development.env`;
const KAFKA_OVERRIDE = `${ROOT}infra/compose/kafka.yml`;
const DEMO_OVERRIDE = `${ROOT}infra/compose/demo.yml`;
/** The services the image's entrypoint runs (infra/compose/bundle.mjs compiles exactly these). */
const IMAGE_SERVICES = Object.keys(JSON.parse(readFileSync(`${ROOT}infra/compose/services.json`, 'utf8')));
const DOCKERFILE = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const IMAGE = 'tideline/tideline:local';
/** The long-running apps: each answers /readyz, stops gracefully, runs under an init. */
const SERVING = ['website-api', 'cache', 'informer', 'push-gateway-1', 'push-gateway-2'];
/** TIDELINE_SHUTDOWN_TIMEOUT_MS's default (packages/config common settings). */
const SHUTDOWN_TIMEOUT_DEFAULT_MS = Number(commonSettings.shutdownTimeoutMs.default);
/** Services only other services talk to: never published on a public interface. */
const INFRASTRUCTURE = ['postgres', 'redis', 'nats', 'kafka', 'cache'];
const APPS = ['migrate', 'website-api', 'cache', 'informer', 'push-gateway-1', 'push-gateway-2'];
/** The API servers production may register clusters on: a value the operator must choose. */
const API_SERVER_HOSTS = 'k8s-1.example.com:6443';
const COMPOSE_TIMEOUT_MS = 60_000;

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

interface Port {
  host_ip?: string;
  published?: number | string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  init?: boolean;
  restart?: string;
  stop_grace_period?: string;
  profiles?: string[];
  environment?: Record<string, string | number | null>;
  ports?: (string | Port)[];
  volumes?: (string | { source?: string; target: string; read_only?: boolean })[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Composed {
  services: Record<string, Service>;
}

/** `docker-compose … config` with exactly `env` (no TIDELINE_* of the caller's environment). */
function composeConfig(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('TIDELINE_') && !name.startsWith('COMPOSE_'),
    ),
  );
  const result = spawnSync(
    'docker-compose',
    [...args, '--profile', 'kafka', '--profile', 'observability', 'config'],
    {
      cwd: ROOT,
      env: { ...clean, ...env },
      encoding: 'utf8',
      timeout: COMPOSE_TIMEOUT_MS,
    },
  );
  return {
    status: result.status,
    stderr: result.stderr,
    composed: result.status === 0 ? (load(result.stdout) as Composed) : undefined,
  };
}

/** Host interfaces a service's ports are published on (`0.0.0.0` when none is named). */
function publishedOn(service: Service): string[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'string') {
      const parts = port.split(':');
      return parts.length >= 3 ? parts[0]! : '0.0.0.0';
    }
    return port.host_ip ?? '0.0.0.0';
  });
}

/** What the production path asks for: the secrets, and the API servers clusters may be registered on. */
const productionSecrets = () => ({
  TIDELINE_INFORMER_API_SERVER_HOSTS: API_SERVER_HOSTS,
  TIDELINE_JWT_SECRET: randomBytes(32).toString('base64'),
  TIDELINE_POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
  TIDELINE_REDIS_PASSWORD: randomBytes(16).toString('hex'),
  TIDELINE_NATS_PASSWORD: randomBytes(16).toString('hex'),
  TIDELINE_INFORMER_REGISTRATION_KEY: randomBytes(32).toString('base64'),
});

/** Without docker-compose on PATH the file is not checked, and the suite's title says why. */
const SUITE = hasCompose
  ? 'docker-compose.yml (docker-compose config)'
  : 'docker-compose.yml — skipped: docker-compose is not on PATH (apt-get install docker-compose)';

// `npm test` installs docker-compose (infra/scripts/ensure-compose.sh); in CI a missing one is a failure, not a skip.
it.runIf(!hasCompose && process.env['CI'] === 'true')(
  'compose - docker-compose is installed where CI runs',
  () => {
    expect(hasCompose).toBe(true);
  },
);

describe.skipIf(!hasCompose)(SUITE, () => {
  it('compose - the production path without TIDELINE_JWT_SECRET refuses to start instead of using the development key', () => {
    const { TIDELINE_JWT_SECRET: _, ...others } = productionSecrets();
    const { status, stderr } = composeConfig(['-f', BASE], others);
    expect(status).not.toBe(0);
    expect(stderr).toContain('set TIDELINE_JWT_SECRET');
    expect(stderr).not.toContain(DEVELOPMENT_JWT_SECRET);
  });

  it.each([
    'TIDELINE_POSTGRES_PASSWORD',
    'TIDELINE_REDIS_PASSWORD',
    'TIDELINE_NATS_PASSWORD',
    'TIDELINE_INFORMER_REGISTRATION_KEY',
  ])('compose - the production path without %s refuses to start (no default password or key)', (name) => {
    const env: Record<string, string> = productionSecrets();
    delete env[name];
    const { status, stderr } = composeConfig(['-f', BASE], env);
    expect(status).not.toBe(0);
    expect(stderr).toContain(`set ${name}`);
  });

  it('compose - the production path without TIDELINE_INFORMER_API_SERVER_HOSTS refuses to start (a registered cluster could name any host)', () => {
    const { TIDELINE_INFORMER_API_SERVER_HOSTS: _, ...others } = productionSecrets();
    const { status, stderr } = composeConfig(['-f', BASE], others);
    expect(status).not.toBe(0);
    expect(stderr).toContain('set TIDELINE_INFORMER_API_SERVER_HOSTS');
  });

  it('compose - production watches no demo cluster: no kube-demo, the informer names no cluster until told', () => {
    const { status, composed } = composeConfig(['-f', BASE], productionSecrets());
    expect(status).toBe(0);
    expect(composed!.services['kube-demo']).toBeUndefined();
    const informer = composed!.services['informer']!;
    expect(informer.environment!['TIDELINE_INFORMER_CLUSTERS'] ?? '').toBe('');
    expect(informer.volumes ?? []).toEqual([]);
    expect(Object.keys(informer.depends_on!)).not.toContain('kube-demo');
  });

  it('compose - the demo override adds kube-demo, built on the one image after migrate, and the informer watches it', () => {
    const { status, stderr, composed } = composeConfig(['-f', BASE, '-f', DEMO_OVERRIDE], {
      ...productionSecrets(),
      TIDELINE_INFORMER_API_SERVER_HOSTS: 'kube-demo:6443',
    });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const demo = composed!.services['kube-demo']!;
    expect(demo.image).toBe(IMAGE);
    expect(demo.command).toEqual(['kube-demo']);
    expect(IMAGE_SERVICES).toContain('kube-demo');
    expect(demo.init).toBe(true);
    expect(demo.depends_on!['migrate']!.condition).toBe('service_completed_successfully');
    expect(demo.environment!['TIDELINE_KUBE_DEMO_SERVER_URL']).toBe('http://kube-demo:6443');
    const informer = composed!.services['informer']!;
    expect(informer.environment!['TIDELINE_INFORMER_CLUSTERS']).toBe(
      'demo=/var/lib/tideline/kube-demo/kubeconfig',
    );
    expect(informer.environment!['TIDELINE_INFORMER_API_SERVER_HOSTS']).toBe('kube-demo:6443');
    expect(informer.depends_on!['kube-demo']!.condition).toBe('service_healthy');
    // The override adds to the informer; it keeps what docker-compose.yml gives it.
    expect(informer.environment!['TIDELINE_ENV']).toBe('production');
    expect(informer.depends_on!['migrate']!.condition).toBe('service_completed_successfully');
  });

  it('compose - production runs every service with TIDELINE_ENV=production and the secrets given, none defaulted', () => {
    const secrets = productionSecrets();
    const { status, stderr, composed } = composeConfig(['-f', BASE], {
      ...secrets,
      TIDELINE_ENV: 'development',
    });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    for (const name of APPS) {
      const env = composed!.services[name]!.environment!;
      expect(env['TIDELINE_ENV'], name).toBe('production');
      expect(env['TIDELINE_JWT_SECRET'], name).toBe(secrets.TIDELINE_JWT_SECRET);
      expect(env['TIDELINE_REDIS_PASSWORD'], name).toBe(secrets.TIDELINE_REDIS_PASSWORD);
      expect(env['TIDELINE_NATS_USER'], name).toBe('tideline');
      expect(env['TIDELINE_NATS_PASSWORD'], name).toBe(secrets.TIDELINE_NATS_PASSWORD);
      expect(env['TIDELINE_DATABASE_URL'], name).toBe(
        `postgresql://tideline:${secrets.TIDELINE_POSTGRES_PASSWORD}@postgres:5432/tideline`,
      );
    }
    expect(composed!.services['informer']!.environment!['TIDELINE_INFORMER_REGISTRATION_KEY']).toBe(
      secrets.TIDELINE_INFORMER_REGISTRATION_KEY,
    );
    // Production refuses an empty list: registrations may name the API servers given only.
    expect(composed!.services['informer']!.environment!['TIDELINE_INFORMER_API_SERVER_HOSTS']).toBe(
      API_SERVER_HOSTS,
    );
    expect(composed!.services['postgres']!.environment!['POSTGRES_PASSWORD']).toBe(
      secrets.TIDELINE_POSTGRES_PASSWORD,
    );
  });

  it('compose - production publishes no infrastructure port (PostgreSQL, Redis, NATS, Kafka, cache)', () => {
    const { composed } = composeConfig(['-f', BASE], productionSecrets());
    for (const name of INFRASTRUCTURE) expect(composed!.services[name]!.ports ?? [], name).toEqual([]);
    // What is published on every interface is the public API only: the gateways and website-api.
    const everywhere = Object.entries(composed!.services)
      .filter(([, service]) => publishedOn(service).some((ip) => ip === '0.0.0.0' || ip === '::'))
      .map(([name]) => name)
      .sort();
    expect(everywhere).toEqual(['push-gateway-1', 'push-gateway-2', 'website-api']);
    expect(publishedOn(composed!.services['informer']!)).toEqual(['127.0.0.1']);
    expect(publishedOn(composed!.services['prometheus']!)).toEqual(['127.0.0.1']);
    expect(publishedOn(composed!.services['jaeger']!)).toEqual(['127.0.0.1']);
  });

  it('compose - a client of the published ports cannot read /metrics or call /internal/*: they are on a management port no service publishes', () => {
    const { composed } = composeConfig(['-f', BASE], productionSecrets());
    const services = composed!.services;
    for (const name of SERVING) {
      const env = services[name]!.environment!;
      expect(String(env['TIDELINE_MANAGEMENT_PORT']), name).toBe('9090');
      const published = (services[name]!.ports ?? []).map((port) =>
        typeof port === 'string' ? port.split(':').at(-1) : String((port as { target?: number }).target),
      );
      expect(published, name).not.toContain('9090');
    }
    // The gateways fetch snapshots and replays (`/internal/*`) from the management ports.
    for (const name of ['push-gateway-1', 'push-gateway-2']) {
      const env = services[name]!.environment!;
      expect(env['TIDELINE_GATEWAY_WEBSITE_API_URL'], name).toBe('http://website-api:9090');
      expect(env['TIDELINE_GATEWAY_CACHE_URL'], name).toBe('http://cache:9090');
    }
  });

  it('compose - a restart of Redis loses no registered cluster, lease or link: append-only file on a volume', () => {
    const { composed } = composeConfig(['-f', BASE], productionSecrets());
    const redis = composed!.services['redis']!;
    expect(redis.command!.join(' ')).toMatch(/--appendonly yes/);
    const targets = redis.volumes!.map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
    expect(targets).toEqual(['/data']);
  });

  it('compose - the development override binds infrastructure to 127.0.0.1 only and runs with TIDELINE_ENV=development', () => {
    const { status, stderr, composed } = composeConfig(
      ['--env-file', DEV_ENV_FILE, '-f', BASE, '-f', DEMO_OVERRIDE, '-f', DEV_OVERRIDE],
      {},
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    for (const name of INFRASTRUCTURE)
      expect(publishedOn(composed!.services[name]!), name).toEqual(['127.0.0.1']);
    for (const name of APPS)
      expect(composed!.services[name]!.environment!['TIDELINE_ENV'], name).toBe('development');
  });

  it('compose - the development values without the development override run as production (the services then refuse the development key)', () => {
    const { status, composed } = composeConfig(['--env-file', DEV_ENV_FILE, '-f', BASE], {});
    expect(status).toBe(0);
    for (const name of APPS) {
      expect(composed!.services[name]!.environment!['TIDELINE_ENV'], name).toBe('production');
      expect(composed!.services[name]!.environment!['TIDELINE_JWT_SECRET'], name).toBe(
        DEVELOPMENT_JWT_SECRET,
      );
    }
  });
});

/** Seconds of a compose duration such as `25s`, `1m30s`. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}
const healthTest = (service: Service) => (service.healthcheck?.test ?? []).join(' ');

describe.skipIf(!hasCompose)(`${SUITE}: operations`, () => {
  let composedProduction: Record<string, Service> | undefined;
  const production = () => {
    composedProduction ??= composeConfig(['-f', BASE], productionSecrets()).composed!.services;
    return composedProduction;
  };

  it('compose - one image for every app: built once (by migrate), the others run it by name', () => {
    const services = production();
    for (const name of APPS) expect(services[name]!.image, name).toBe(IMAGE);
    const builders = Object.entries(services)
      .filter(([, service]) => service.build !== undefined && service.image === IMAGE)
      .map(([name]) => name);
    expect(builders).toEqual(['migrate']);
  });

  it('compose - every app runs a compiled service of the image by name (no npm, npx or tsx in the process tree)', () => {
    const services = production();
    for (const name of APPS) {
      const command = services[name]!.command!;
      expect(command, name).toHaveLength(1);
      expect(IMAGE_SERVICES, name).toContain(command[0]);
      expect(command.join(' '), name).not.toMatch(/\b(npm|npx|tsx)\b/);
    }
    expect(DOCKERFILE).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/tideline"\]$/m);
    expect(DOCKERFILE).not.toMatch(/^(CMD|ENTRYPOINT).*\b(npm|npx|tsx)\b/m);
  });

  it('compose - the image runs the Node.js of .nvmrc', () => {
    const pinned = readFileSync(`${ROOT}.nvmrc`, 'utf8').trim();
    expect(DOCKERFILE).toContain(`ARG NODE_IMAGE=node:${pinned}-bookworm-slim`);
  });

  it('compose - apps run under an init and are given longer to stop than their shutdown timeout', () => {
    const services = production();
    for (const name of SERVING) {
      const service = services[name]!;
      expect(service.init, name).toBe(true);
      const timeoutMs = Number(
        service.environment!['TIDELINE_SHUTDOWN_TIMEOUT_MS'] ?? SHUTDOWN_TIMEOUT_DEFAULT_MS,
      );
      expect(seconds(service.stop_grace_period ?? '10s') * 1000, name).toBeGreaterThan(timeoutMs);
      expect(seconds(service.stop_grace_period ?? '10s') * 1000, name).toBeGreaterThan(
        SHUTDOWN_TIMEOUT_DEFAULT_MS,
      );
    }
  });

  it('compose - health checks probe for real: NATS JetStream health on its monitoring port, PostgreSQL over TCP, apps /readyz', () => {
    const services = production();
    const nats = services['nats']!;
    expect(nats.command!.join(' ')).toMatch(/(^| )-m 8222( |$)/);
    expect(healthTest(nats)).toContain('http://127.0.0.1:8222/healthz?js-enabled-only=true');
    expect(healthTest(nats)).not.toContain('--help');
    expect(services['postgres']!.healthcheck!.test).toEqual(
      expect.arrayContaining(['pg_isready', '-h', '127.0.0.1']),
    );
    expect(healthTest(services['redis']!)).toContain('PONG');
    for (const name of SERVING) {
      const port = { 'website-api': 3001, cache: 3002, informer: 3003 }[name] ?? 3000;
      expect(healthTest(services[name]!), name).toContain(`http://127.0.0.1:${port}/readyz`);
    }
  });

  it('compose - migrations run once, before every app, and retry by themselves rather than by restarts', () => {
    const services = production();
    expect(services['migrate']!.command).toEqual(['migrate']);
    expect(services['migrate']!.restart).toBe('no');
    expect(services['migrate']!.depends_on!['postgres']!.condition).toBe('service_healthy');
    for (const name of APPS.filter((n) => n !== 'migrate'))
      expect(services[name]!.depends_on!['migrate']!.condition, name).toBe('service_completed_successfully');
  });

  it('compose - the kube-demo volume is mounted where the image has the directory, owned by the runtime user', () => {
    const services = composeConfig(['-f', BASE, '-f', DEMO_OVERRIDE], productionSecrets()).composed!.services;
    const target = (name: string) =>
      services[name]!.volumes!.map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
    expect(target('kube-demo')).toEqual(['/var/lib/tideline/kube-demo']);
    expect(target('informer')).toEqual(['/var/lib/tideline/kube-demo']);
    expect(DOCKERFILE).toMatch(
      /mkdir -p \/var\/lib\/tideline\/kube-demo && chown -R node:node \/var\/lib\/tideline/,
    );
    expect(DOCKERFILE).toMatch(/^USER node$/m);
  });

  it('compose - the Kafka override switches every app to Kafka and makes it wait for the broker', () => {
    const { status, stderr, composed } = composeConfig(
      ['-f', BASE, '-f', KAFKA_OVERRIDE],
      productionSecrets(),
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(composed!.services['kafka']!.profiles).toEqual(['kafka']);
    for (const name of SERVING) {
      expect(composed!.services[name]!.environment!['TIDELINE_BUS'], name).toBe('kafka');
      expect(composed!.services[name]!.depends_on!['kafka']!.condition, name).toBe('service_healthy');
    }
  });

  it('compose - observability: Prometheus with the alert rules of deploy/prometheus/rules, Jaeger, traces off unless enabled', () => {
    const services = production();
    expect(services['prometheus']!.profiles).toEqual(['observability']);
    expect(services['jaeger']!.profiles).toEqual(['observability']);
    const mounts = services['prometheus']!.volumes!.map((v) =>
      typeof v === 'string' ? v : `${v.source}:${v.target}`,
    );
    expect(
      mounts.some((m) => m.includes('deploy/prometheus/rules') && m.includes('/etc/prometheus/rules')),
    ).toBe(true);
    for (const name of SERVING) {
      expect(services[name]!.environment!['TIDELINE_OTEL_ENABLED'], name).toBe('false');
      expect(services[name]!.environment!['TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT'], name).toBe(
        'http://jaeger:4318',
      );
    }
  });

  it('compose - the development override adds the console with its token endpoint, on 127.0.0.1 only', () => {
    const { composed } = composeConfig(
      ['--env-file', DEV_ENV_FILE, '-f', BASE, '-f', DEMO_OVERRIDE, '-f', DEV_OVERRIDE],
      {},
    );
    const console = composed!.services['console']!;
    expect(console.command).toEqual(['console']);
    expect(console.image).toBe(IMAGE);
    expect(console.environment!['TIDELINE_ENV']).toBe('development');
    expect(publishedOn(console)).toEqual(['127.0.0.1']);
    // Without the override there is no console and no token endpoint.
    expect(production()['console']).toBeUndefined();
  });

  it('compose - the file is plain compose: no podman-only image names, no top-level name', () => {
    const text = readFileSync(BASE, 'utf8');
    expect(text).not.toMatch(/^name:/m);
    expect(text).not.toMatch(/image: localhost\//);
  });
});

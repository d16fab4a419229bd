import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BASE = `${ROOT}docker-compose.yml`;
const DEV_OVERRIDE = `${ROOT}docker-compose.dev.yml`;
const DEV_ENV_FILE = `${ROOT}infra/compose/development.env`;
/** Services only other services talk to: never published on a public interface. */
const INFRASTRUCTURE = ['postgres', 'redis', 'nats', 'kafka', 'cache'];
const APPS = ['migrate', 'website-api', 'cache', 'kube-demo', 'informer', 'push-gateway-1', 'push-gateway-2'];
const COMPOSE_TIMEOUT_MS = 60_000;

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

interface Port {
  host_ip?: string;
  published?: number | string;
}
interface Service {
  environment?: Record<string, string | number | null>;
  ports?: (string | Port)[];
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
  const result = spawnSync('docker-compose', [...args, '--profile', 'kafka', 'config'], {
    cwd: ROOT,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: COMPOSE_TIMEOUT_MS,
  });
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

const productionSecrets = () => ({
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
  });

  it('compose - the development override binds infrastructure to 127.0.0.1 only and runs with TIDELINE_ENV=development', () => {
    const { status, stderr, composed } = composeConfig(
      ['--env-file', DEV_ENV_FILE, '-f', BASE, '-f', DEV_OVERRIDE],
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

import { readFileSync } from 'node:fs';
import { ConfigError } from '../load.ts';
import { type ConfigOf, int, ms, optionalStr, url } from '../setting.ts';

export const redisSettings = {
  redisUrl: url({
    env: 'TIDELINE_REDIS_URL',
    protocols: ['redis', 'rediss'],
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis for the Socket.IO adapter, the stateful executor and shared rate limits. May carry credentials (`redis://user:password@host:6379`); `rediss://` connects over TLS. Never printed: errors and logs show `***` for credentials.',
  }),
  redisUsername: optionalStr({
    env: 'TIDELINE_REDIS_USERNAME',
    doc: "Redis ACL user (Redis 6+). Overrides a user in TIDELINE_REDIS_URL. Unset: the URL's, else `default`.",
  }),
  redisPassword: optionalStr({
    env: 'TIDELINE_REDIS_PASSWORD',
    secret: true,
    doc: 'Password of the Redis ACL user (or of `requirepass`). Overrides a password in TIDELINE_REDIS_URL. Required in production deployments whose Redis is reachable by anything but the services.',
  }),
  redisTlsCaFile: optionalStr({
    env: 'TIDELINE_REDIS_TLS_CA_FILE',
    doc: 'PEM file of the certificate authority that signed the Redis server certificate; setting it turns TLS on (as `rediss://` does). Unset: the system trust store.',
  }),
  redisCommandTimeoutMs: ms({
    env: 'TIDELINE_REDIS_COMMAND_TIMEOUT_MS',
    default: 2_000,
    min: 10,
    doc: 'A Redis command that has not answered by then fails with a typed error instead of hanging.',
  }),
};

type RedisCredentialKeys = 'redisUsername' | 'redisPassword' | 'redisTlsCaFile';
/** The Redis settings of a service; the credential settings may be left out (tests, tools). */
export type RedisConfig = Omit<ConfigOf<typeof redisSettings>, RedisCredentialKeys> &
  Partial<Pick<ConfigOf<typeof redisSettings>, RedisCredentialKeys>>;

/** Connection options of Redis besides its URL, in the shape ioredis takes them. */
export interface RedisConnectionOptions {
  username?: string;
  password?: string;
  /** Present when the connection must use TLS (`rediss://` or a CA file). */
  tls?: { ca?: Buffer };
}

/**
 * The credentials and TLS options of every Redis connection of a service, from its settings (the
 * one place that builds them; pass them with the URL: `new Redis(url, { ...options })`). Options
 * win over userinfo in the URL. Throws a ConfigError when the CA file cannot be read.
 */
export function redisConnectionOptions(config: RedisConfig): RedisConnectionOptions {
  const out: RedisConnectionOptions = {};
  if (config.redisUsername !== undefined) out.username = config.redisUsername;
  if (config.redisPassword !== undefined) out.password = config.redisPassword;
  if (config.redisTlsCaFile !== undefined) {
    try {
      out.tls = { ca: readFileSync(config.redisTlsCaFile) };
    } catch (error) {
      throw new ConfigError(
        'TIDELINE_REDIS_TLS_CA_FILE',
        'a readable PEM file',
        `${config.redisTlsCaFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  } else if (config.redisUrl.startsWith('rediss:')) {
    out.tls = {};
  }
  return out;
}

export const databaseSettings = {
  databaseUrl: url({
    env: 'TIDELINE_DATABASE_URL',
    protocols: ['postgres', 'postgresql'],
    default: 'postgresql://postgres@127.0.0.1:5432/tideline',
    doc: 'PostgreSQL database of website-api, with its credentials (`postgresql://user:password@host:5432/tideline`; never printed).',
  }),
  databaseStatementTimeoutMs: ms({
    env: 'TIDELINE_DATABASE_STATEMENT_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    doc: 'Statements running longer are cancelled; the request answers 503.',
  }),
  databaseConnectTimeoutMs: ms({
    env: 'TIDELINE_DATABASE_CONNECT_TIMEOUT_MS',
    default: 3_000,
    min: 100,
    doc: 'Connecting to PostgreSQL gives up after this; the request answers 503.',
  }),
  databasePoolMax: int({
    env: 'TIDELINE_DATABASE_POOL_MAX',
    min: 1,
    max: 500,
    default: 10,
    doc: 'Most PostgreSQL connections one process keeps in its pool (website-api opens one more, on first use, for its pipelined write turns).',
  }),
  databaseTransactionTimeoutMs: ms({
    env: 'TIDELINE_DATABASE_TRANSACTION_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    doc: 'A transaction still open after this is rolled back; the request answers 503.',
  }),
  databaseTransactionMaxWaitMs: ms({
    env: 'TIDELINE_DATABASE_TRANSACTION_MAX_WAIT_MS',
    default: 3_000,
    min: 10,
    doc: 'How long a transaction may wait for a free pooled connection before the request answers 503.',
  }),
  databaseMigrateAttempts: int({
    env: 'TIDELINE_DATABASE_MIGRATE_ATTEMPTS',
    default: 10,
    min: 1,
    max: 1_000,
    doc: "How often the image's `migrate` service tries the migrations while PostgreSQL refuses (starting, restarting) before it exits non-zero.",
  }),
  databaseMigrateRetryIntervalMs: ms({
    env: 'TIDELINE_DATABASE_MIGRATE_RETRY_INTERVAL_MS',
    default: 2_000,
    min: 10,
    doc: "Pause between two attempts of the image's `migrate` service.",
  }),
};

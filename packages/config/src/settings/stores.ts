import { int, ms, url } from '../setting.ts';

export const redisSettings = {
  redisUrl: url({
    env: 'TIDELINE_REDIS_URL',
    protocols: ['redis', 'rediss'],
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis for the Socket.IO adapter and the stateful executor.',
  }),
  redisCommandTimeoutMs: ms({
    env: 'TIDELINE_REDIS_COMMAND_TIMEOUT_MS',
    default: 2_000,
    min: 10,
    doc: 'A Redis command that has not answered by then fails with a typed error instead of hanging.',
  }),
};

export const databaseSettings = {
  databaseUrl: url({
    env: 'TIDELINE_DATABASE_URL',
    protocols: ['postgres', 'postgresql'],
    default: 'postgresql://postgres@127.0.0.1:5432/tideline',
    doc: 'PostgreSQL database of website-api.',
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
    doc: 'Most PostgreSQL connections one process keeps open.',
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
};

import { randomUUID } from 'node:crypto';
import { SCOPES } from '@tideline/auth';
import { type BusMessage, createEventBus, type EventBus, readTopic } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';
import { WEBSITES_TOPIC } from '@tideline/contracts';
import {
  removeStreams,
  TEST_NATS_URL,
  TestDatabase,
  testServiceToken,
  testToken,
  uniquePrefix,
} from '@tideline/test-support';
import pg from 'pg';
import { EVENT_LOG_LOCK_CLASS } from '../src/adapters/event-log/postgres-event-log.ts';
import { type StartWebsiteApiOptions, startWebsiteApi, type WebsiteApi } from '../src/service.ts';

export const NATS_URL = TEST_NATS_URL;
export { removeStreams, uniquePrefix };

export const tokens = {
  writer: testToken('writer', [SCOPES.websitesRead, SCOPES.websitesWrite]),
  reader: testToken('reader', [SCOPES.websitesRead]),
  internal: testServiceToken('service:push-gateway'),
  operator: testToken('operator', [SCOPES.operatorRead]),
};

/** Environment of a website-api under test: silent logs, a free port, its own database and bus prefix. */
export function testEnv(
  database: TestDatabase,
  busPrefix: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    TIDELINE_ENV: 'test',
    TIDELINE_LOG_LEVEL: 'silent',
    TIDELINE_WEBSITE_API_PORT: '0',
    TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
    TIDELINE_DATABASE_URL: database.url,
    TIDELINE_NATS_URL: NATS_URL,
    TIDELINE_BUS_PREFIX: busPrefix,
    TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: '100',
    TIDELINE_SHUTDOWN_TIMEOUT_MS: '5000',
    // Counts of this test only; tests not about the write limit are not slowed by it.
    TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `test:${busPrefix}:writes:`,
    TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
    ...overrides,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field and validate them with the contracts.
type JsonBody = any;

interface Answer<T = JsonBody> {
  status: number;
  body: T;
}

/** A JSON HTTP call; `token: null` sends no Authorization header. */
async function call<T = JsonBody>(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; token?: string | null; rawBody?: string; contentType?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? tokens.writer : options.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Takes the websites topic lock of the event log on `client` (a connection of its own): writers then
 * stop just before their commit, with their rows written, until the returned release is called.
 */
export async function holdTopicLock(client: pg.ClientBase): Promise<() => Promise<void>> {
  await client.query(`SELECT pg_advisory_lock($1::int, hashtext($2))`, [
    EVENT_LOG_LOCK_CLASS,
    WEBSITES_TOPIC,
  ]);
  return async () => {
    await client.query(`SELECT pg_advisory_unlock($1::int, hashtext($2))`, [
      EVENT_LOG_LOCK_CLASS,
      WEBSITES_TOPIC,
    ]);
  };
}

/**
 * How many event-log topic locks of the connected database are held (`granted`) or waited for.
 * pg_locks lists the locks of every database of the server, and services of other tests take the
 * same lock class in theirs, so only this database's count.
 */
export async function topicLocks(
  db: Pick<pg.Pool | pg.ClientBase, 'query'>,
  state: 'granted' | 'waiting',
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND classid = $1 AND granted = $2
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [EVENT_LOG_LOCK_CLASS, state === 'granted'],
  );
  return rows[0]!.n;
}

/** Talks to a running website-api over HTTP and to its database over SQL. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly database: TestDatabase,
    readonly sql: pg.Pool,
  ) {}

  /** A client of a website-api started elsewhere (e.g. a child process) on `database`. */
  static attach(baseUrl: string, database: TestDatabase): ApiClient {
    return new ApiClient(baseUrl, database, new pg.Pool({ connectionString: database.url, max: 4 }));
  }

  call<T = JsonBody>(
    method: 'GET' | 'POST',
    path: string,
    options?: Parameters<typeof call>[3],
  ): Promise<Answer<T>> {
    return call<T>(this.baseUrl, method, path, options);
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<T[]> {
    return (await this.sql.query<T>(text, values)).rows;
  }

  async lineGroup(
    name = `lg-${randomUUID().slice(0, 8)}`,
  ): Promise<{ id: number; name: string; cname: string }> {
    const answer = await this.call('POST', '/api/v1/line-groups/create', {
      body: { name, cname: `${name}.cdn.example.net` },
    });
    if (answer.status !== 201) throw new Error(`line group: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.data;
  }

  async lastEventId(): Promise<number> {
    const [row] = await this.query<{ last: number }>(
      `SELECT last_event_id::int AS last FROM ws_log_meta WHERE topic = 'websites'`,
    );
    return row!.last;
  }

  async publishedId(): Promise<number> {
    const [row] = await this.query<{ published: number }>(
      `SELECT last_published_id::int AS published FROM ws_relay_state WHERE topic = 'websites'`,
    );
    return row!.published;
  }
}

/** A website-api started in this process against its own throwaway database (migrated by the service itself at start). */
export class ApiFixture extends ApiClient {
  private constructor(
    readonly api: WebsiteApi,
    database: TestDatabase,
    readonly busPrefix: string,
    sql: pg.Pool,
  ) {
    super(api.url, database, sql);
  }

  static async start(
    options: { env?: Record<string, string>; busPrefix?: string; database?: TestDatabase } & Omit<
      StartWebsiteApiOptions,
      'source'
    > = {},
  ): Promise<ApiFixture> {
    const database = options.database ?? (await TestDatabase.create('tideline_wsapi'));
    const busPrefix = options.busPrefix ?? uniquePrefix('wsapi');
    const { env, busPrefix: _p, database: _d, ...rest } = options;
    const api = await startWebsiteApi({ ...rest, source: { env: testEnv(database, busPrefix, env) } });
    const sql = new pg.Pool({ connectionString: database.url, max: 4 });
    return new ApiFixture(api, database, busPrefix, sql);
  }

  /** Stops the service only (the database stays, e.g. for a successor). */
  async stopService(): Promise<void> {
    await this.api.stop('test');
  }

  /** Stops the service, removes its streams and (unless another fixture shares it) drops its database. */
  async dispose(options: { keepDatabase?: boolean } = {}): Promise<void> {
    await this.api.stop('test');
    await this.sql.end();
    await removeStreams(this.busPrefix, NATS_URL);
    if (!options.keepDatabase) await this.database[Symbol.asyncDispose]();
  }
}

/** A started bus on `prefix`, for reading what the relay published. */
export async function openBus(prefix: string, servers = NATS_URL): Promise<EventBus> {
  const config = loadConfig(busSettings, {
    env: { TIDELINE_BUS_PREFIX: prefix, TIDELINE_NATS_URL: servers },
  });
  const bus = createEventBus({ config, clientName: 'website-api-test-reader' });
  await bus.start();
  return bus;
}

/** Every message of the websites topic, in stream order. */
export async function readWebsiteStream(bus: EventBus): Promise<BusMessage[]> {
  const all: BusMessage[] = [];
  for await (const message of readTopic(bus, { topic: WEBSITES_TOPIC, pageSize: 1000 })) all.push(message);
  return all;
}

/**
 * Where the time of one website create goes, one client at a time (c=1), in one run: the whole
 * HTTP request, the store call alone (no HTTP, JWT, zod, rate limit), single Prisma statements, and
 * raw `pg` statements (the database's own floor). Run it under `node --cpu-prof` to see the CPU
 * side of the same requests (`bench/cpu-profile-summary.ts` groups the profile by component).
 *
 * `node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/create-profile.ts`
 */
import { SCOPES } from '@tideline/auth';
import { BenchHttpClient, quantile } from '@tideline/bench';
import { loadConfig } from '@tideline/config';
import { TestDatabase, testToken } from '@tideline/test-support';
import pg from 'pg';
import { openDatabase } from '../src/adapters/database.ts';
import { PostgresEventLog } from '../src/adapters/event-log/postgres-event-log.ts';
import { PrismaWebsiteStore } from '../src/adapters/prisma-website-store.ts';
import { createWebsiteStatement } from '../src/adapters/website-statements.ts';
import { settings } from '../src/config.ts';
import { startWebsiteApi } from '../src/service.ts';
import { NATS_URL, removeStreams, uniquePrefix } from '../test/harness.ts';

const N = Number(process.env['PROFILE_OPS'] ?? 400);
const WARMUP = 150;
/** Websites created before the first measurement. */
const SEEDED_WEBSITES = 2_000;
const token = testToken('bench', [SCOPES.websitesRead, SCOPES.websitesWrite]);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

/** `PROFILE_ONLY=<substring>` runs only the measurements whose label contains it (to profile one). */
const ONLY = process.env['PROFILE_ONLY'];

async function timed(label: string, count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  if (ONLY && !label.includes(ONLY)) return;
  for (let i = 0; i < Math.min(WARMUP, count); i++) await op(-1 - i);
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    latencies.push(performance.now() - t0);
  }
  const wall = performance.now() - started;
  console.log(
    `${label.padEnd(58)} p50 ${quantile(latencies, 0.5).toFixed(3)} ms  mean ${(wall / count).toFixed(3)} ms  p99 ${quantile(latencies, 0.99).toFixed(3)} ms`,
  );
}

const database = await TestDatabase.create('tideline_profile');
const prefix = uniquePrefix('profile');
const env = {
  TIDELINE_ENV: 'test',
  TIDELINE_LOG_LEVEL: 'silent',
  TIDELINE_WEBSITE_API_PORT: '0',
  TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
  TIDELINE_DATABASE_URL: database.url,
  TIDELINE_NATS_URL: NATS_URL,
  TIDELINE_BUS_PREFIX: prefix,
  TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
  TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `profile:${prefix}:writes:`,
};
const api = await startWebsiteApi({ source: { env } });
/** One connection: the requests are sequential. */
const http = new BenchHttpClient({ maxSockets: 1 });
const config = loadConfig(settings, { env });
const db = openDatabase(config, { applicationName: 'profile' });
const raw = new pg.Client({ connectionString: database.url });
await raw.connect();
try {
  const lineGroup = await db.prisma.lineGroup.create({
    data: { name: 'profile', cname: 'p.cdn.example.net' },
  });
  const store = new PrismaWebsiteStore({
    prisma: db.prisma,
    statements: db.statements,
    eventLog: new PostgresEventLog({ prisma: db.prisma }),
    writeLockTries: config.writeLockTries,
    writeBatchMax: config.writeBatchMax,
  });
  const domains = (tag: string, i: number) => [`www.${tag}-${i}.example.com`, `${tag}-${i}.example.com`];
  // A catalogue, then statistics (as autovacuum keeps them; it is off on this machine's
  // PostgreSQL): each measurement plans on tables of realistic size, not on empty ones.
  for (let i = 0; i < SEEDED_WEBSITES; i++)
    await store.createWebsite({
      domains: domains('seed', i),
      line_group_id: lineGroup.id,
      https_enabled: false,
      status: 'active',
    });
  await raw.query('VACUUM (ANALYZE)');

  await raw.query('CREATE TABLE scratch (id bigserial PRIMARY KEY, v text NOT NULL)');
  await timed('raw pg: INSERT (autocommit)', N, (i) =>
    raw.query('INSERT INTO scratch (v) VALUES ($1)', [`r${i}`]),
  );
  await timed('raw pg: BEGIN; INSERT; COMMIT (3 round trips)', N, async (i) => {
    await raw.query('BEGIN');
    await raw.query('INSERT INTO scratch (v) VALUES ($1)', [`t${i}`]);
    await raw.query('COMMIT');
  });
  await timed('raw pg: SELECT 1', N, () => raw.query('SELECT 1'));
  await timed('prisma: $queryRaw SELECT 1', N, () => db.prisma.$queryRaw`SELECT 1`);
  await timed('prisma: lineGroup.findUnique', N, () =>
    db.prisma.lineGroup.findUnique({ where: { id: lineGroup.id }, select: { id: true } }),
  );
  await timed('prisma: empty interactive $transaction', N, () => db.prisma.$transaction(async () => 0));
  await timed('prisma: $transaction([SELECT 1]) (batch)', N, () =>
    db.prisma.$transaction([db.prisma.$queryRaw`SELECT 1`]),
  );
  const eventLog = new PostgresEventLog({ prisma: db.prisma });
  const createStatement = (tag: string, i: number) =>
    createWebsiteStatement(
      { domains: domains(tag, i), line_group_id: lineGroup.id, https_enabled: false, status: 'active' },
      (gate) => {
        const parts = eventLog.statementParts({ wait: false, gate, trace: undefined });
        return { lock: parts.lock, append: parts.append('add') };
      },
    );
  // The store's create statement sent by raw `pg`, prepared once as Prisma's adapter prepares it
  // (a named statement): what PostgreSQL itself takes for it, and so what the layers above add.
  await timed('raw pg: the create statement, named (event log on)', N, (i) => {
    const statement = createStatement('rawstmt', i);
    return raw.query({ name: 'profile_create', text: statement.text, values: statement.values as unknown[] });
  });
  // The same statement without the event log's parts: what the log itself costs PostgreSQL.
  await timed('raw pg: the create statement, named (event log off)', N, (i) => {
    const statement = createWebsiteStatement(
      { domains: domains('rawoff', i), line_group_id: lineGroup.id, https_enabled: false, status: 'active' },
      null,
    );
    return raw.query({
      name: 'profile_create_off',
      text: statement.text,
      values: statement.values as unknown[],
    });
  });
  // The same statement through Prisma Client, and through its driver adapter (the store's path).
  await timed('prisma: the create statement, $queryRaw', N, (i) =>
    db.prisma.$queryRaw(createStatement('prismastmt', i)),
  );
  await timed('statements (driver adapter): the create statement', N, (i) =>
    db.statements.query(createStatement('adapterstmt', i)),
  );
  await timed('store.createWebsite (no HTTP), event log on', N, (i) =>
    store.createWebsite({
      domains: domains('store', i),
      line_group_id: lineGroup.id,
      https_enabled: false,
      status: 'active',
    }),
  );
  // The same store without the event log: with the raw statements above, what the log costs the
  // service (beyond PostgreSQL's part) per create.
  const storeWithoutLog = new PrismaWebsiteStore({
    prisma: db.prisma,
    statements: db.statements,
    eventLog: null,
    writeLockTries: config.writeLockTries,
    writeBatchMax: config.writeBatchMax,
  });
  await timed('store.createWebsite (no HTTP), event log off', N, (i) =>
    storeWithoutLog.createWebsite({
      domains: domains('storeoff', i),
      line_group_id: lineGroup.id,
      https_enabled: false,
      status: 'active',
    }),
  );
  await timed('HTTP POST /api/v1/websites/create, event log on', N, async (i) => {
    const answer = await http.request(`${api.url}/api/v1/websites/create`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ domains: domains('http', i), line_group_id: lineGroup.id }),
    });
    if (answer.status !== 201) throw new Error(`create answered ${answer.status}`);
    JSON.parse(answer.body);
  });
  await timed('HTTP GET /healthz (HTTP floor: node:http client + Fastify)', N, async () => {
    JSON.parse((await http.request(`${api.url}/healthz`)).body);
  });
} finally {
  http.close();
  await raw.end();
  await db.close();
  await api.stop('profile done');
  await removeStreams(prefix);
  await database[Symbol.asyncDispose]();
}

/**
 * Write benchmark of website-api: creates and updates over HTTP, with 1 client (the latency of one
 * write) and 8 concurrent clients (throughput), each beside two same-run baselines:
 * - the database's own floor: a raw `pg` single-row INSERT commit into a scratch table of the
 *   bench's database (p50 with 1 client, commits/s with 8 clients);
 * - the same service with the event log off (no event row, no relay): the overhead of the log.
 * Both services run side by side on databases of their own; the three targets (log on, log off,
 * raw insert) take turns in short chunks (rotating order), so load from anything else on the
 * machine hits them alike. Rounds: TIDELINE_BENCH_ROUNDS (default 3); results in
 * bench/results/website-api.json.
 *
 * `npm run bench -w @tideline/website-api` — needs PostgreSQL, Redis and NATS. Bounded: fixed
 * request counts per chunk and chunks per phase, each phase also capped in time.
 */
import { SCOPES } from '@tideline/auth';
import { BenchRun, quantile } from '@tideline/bench';
import { TestDatabase, testToken } from '@tideline/test-support';
import pg from 'pg';
import { startWebsiteApi, type WebsiteApi } from '../src/service.ts';
import { NATS_URL, removeStreams, uniquePrefix } from '../test/harness.ts';

const CLIENTS = 8;
/** Per round: requests per chunk and chunks per target of each phase. */
const PHASES = [
  { name: 'create1', op: 'create', clients: 1, chunk: 30, chunks: 6 },
  { name: 'update1', op: 'update', clients: 1, chunk: 30, chunks: 6 },
  { name: 'create8', op: 'create', clients: CLIENTS, chunk: 120, chunks: 5 },
  { name: 'update8', op: 'update', clients: CLIENTS, chunk: 120, chunks: 5 },
] as const;
type Phase = (typeof PHASES)[number];
const PHASE_CAP_MS = 15_000;
const WARMUP_WRITES = 150;
const RELAY_CATCH_UP_CAP_MS = 10_000;

type Mode = 'on' | 'off';
const token = testToken('bench', [SCOPES.websitesRead, SCOPES.websitesWrite]);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

interface Sample {
  count: number;
  wallMs: number;
  latencies: number[];
}
const emptySample = (): Sample => ({ count: 0, wallMs: 0, latencies: [] });
const p50 = (s: Sample) => quantile(s.latencies, 0.5);
const rate = (s: Sample) => (s.count * 1000) / s.wallMs;

interface Target {
  mode: Mode;
  api: WebsiteApi;
  database: TestDatabase;
  prefix: string;
  lineGroupId: number;
  /** Websites created so far with 1 and with 8 clients; the update phases change them in turn. */
  created: { 1: number[]; 8: number[] };
  cursor: { 1: number; 8: number };
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; data?: { id?: number; website_id?: number } }> {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await response.json()) as { data?: { id?: number; website_id?: number } };
  return { status: response.status, ...(json.data ? { data: json.data } : {}) };
}

async function setUp(mode: Mode): Promise<Target> {
  const database = await TestDatabase.create('tideline_bench');
  const prefix = uniquePrefix('bench');
  const api = await startWebsiteApi({
    withoutEventLog: mode === 'off',
    source: {
      env: {
        TIDELINE_ENV: 'test',
        TIDELINE_LOG_LEVEL: 'silent',
        TIDELINE_WEBSITE_API_PORT: '0',
        TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
        TIDELINE_DATABASE_URL: database.url,
        TIDELINE_DATABASE_POOL_MAX: String(CLIENTS + 2),
        TIDELINE_NATS_URL: NATS_URL,
        TIDELINE_BUS_PREFIX: prefix,
        // The benchmark measures writes, not the per-subject limit.
        TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
        TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `bench:${prefix}:writes:`,
      },
    },
  });
  const lineGroup = await post(`${api.url}/api/v1/line-groups/create`, {
    name: `bench-${mode}`,
    cname: `bench-${mode}.cdn.example.net`,
  });
  return {
    mode,
    api,
    database,
    prefix,
    lineGroupId: lineGroup.data!.id!,
    created: { 1: [], 8: [] },
    cursor: { 1: 0, 8: 0 },
  };
}

async function tearDown(target: Target): Promise<void> {
  await target.api.stop('bench done');
  await removeStreams(target.prefix);
  await target.database[Symbol.asyncDispose]();
}

let serial = 0;
async function create(target: Target, into: number[]): Promise<void> {
  const n = serial++;
  const answer = await post(`${target.api.url}/api/v1/websites/create`, {
    domains: [`www.site-${n}.bench.example.com`, `site-${n}.bench.example.com`],
    line_group_id: target.lineGroupId,
  });
  if (answer.status !== 201) throw new Error(`create answered ${answer.status}`);
  into.push(answer.data!.website_id!);
}

async function update(target: Target, websiteId: number): Promise<void> {
  const answer = await post(`${target.api.url}/api/v1/websites/update`, {
    website_id: websiteId,
    status: serial++ % 2 === 0 ? 'paused' : 'active',
    https_enabled: serial % 3 === 0,
  });
  if (answer.status !== 200) throw new Error(`update answered ${answer.status}`);
}

/** `count` operations from `clients` concurrent clients; latencies and wall time added to `sample`. */
async function drive(sample: Sample, clients: number, count: number, op: () => Promise<void>): Promise<void> {
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (started < count) {
        started++;
        const t = performance.now();
        await op();
        sample.latencies.push(performance.now() - t);
      }
    }),
  );
  sample.wallMs += performance.now() - t0;
  sample.count += count;
}

function websiteChunk(target: Target, phase: Phase, sample: Sample): Promise<void> {
  const ids = target.created[phase.clients];
  return drive(sample, phase.clients, phase.chunk, () => {
    if (phase.op === 'create') return create(target, ids);
    const id = ids[target.cursor[phase.clients]++ % ids.length]!;
    return update(target, id);
  });
}

/** The database floor: single-row INSERTs, each its own transaction, into a scratch table. */
function insertChunk(pool: pg.Pool, phase: Phase, sample: Sample): Promise<void> {
  return drive(sample, phase.clients, phase.chunk, async () => {
    await pool.query('INSERT INTO bench_scratch (v) VALUES ($1)', [`v${serial++}`]);
  });
}

const run = new BenchRun({
  bench: 'website-api',
  description:
    'website-api creates and updates over HTTP (JWT, zod, PostgreSQL via Prisma, event log + relay to NATS), beside a raw pg single-row INSERT commit and beside the same service with the event log off, same run',
});
const floor1 = 'pg single-row INSERT commit p50, 1 client';
const floor8 = 'pg single-row INSERT commits/s, 8 clients';
run.define(
  {
    id: 'create.c1.p50',
    label: 'create p50, 1 client, log + relay on',
    unit: 'ms',
    better: 'lower',
    baseline: floor1,
    goal: 5,
    goalNote: 'issue 17: ≤ 5× a single-row INSERT commit',
  },
  {
    id: 'update.c1.p50',
    label: 'update p50, 1 client, log + relay on',
    unit: 'ms',
    better: 'lower',
    baseline: floor1,
    goal: 5,
    goalNote: 'issue 17: ≤ 5× a single-row INSERT commit',
  },
  {
    id: 'create.c8.rate',
    label: 'creates/s, 8 clients, log + relay on',
    unit: '/s',
    better: 'higher',
    baseline: floor8,
    goal: 0.15,
    goalNote: 'issue 17: ≥ 0.15× the single-insert commit ceiling',
  },
  {
    id: 'update.c8.rate',
    label: 'updates/s, 8 clients, log + relay on',
    unit: '/s',
    better: 'higher',
    baseline: floor8,
    goal: 0.15,
    goalNote: 'issue 17: ≥ 0.15× the single-insert commit ceiling',
  },
  {
    id: 'overhead.create.c1.p50',
    label: 'create p50, 1 client: log + relay on vs off',
    unit: 'ms',
    better: 'lower',
    baseline: 'event log off',
    goal: 1.15,
    goalNote: 'issue 17',
  },
  {
    id: 'overhead.update.c1.p50',
    label: 'update p50, 1 client: log + relay on vs off',
    unit: 'ms',
    better: 'lower',
    baseline: 'event log off',
    goal: 1.15,
    goalNote: 'issue 17',
  },
  {
    id: 'overhead.create.c8.rate',
    label: 'creates/s, 8 clients: log + relay on vs off',
    unit: '/s',
    better: 'higher',
    baseline: 'event log off',
    goal: 0.9,
    goalNote: 'issue 17',
  },
  {
    id: 'overhead.update.c8.rate',
    label: 'updates/s, 8 clients: log + relay on vs off',
    unit: '/s',
    better: 'higher',
    baseline: 'event log off',
    goal: 0.9,
    goalNote: 'issue 17',
  },
);

const benchStarted = performance.now();
const on = await setUp('on');
const off = await setUp('off');
const pool = new pg.Pool({ connectionString: on.database.url, max: CLIENTS });
let failed = false;
try {
  await pool.query('CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, v text NOT NULL)');
  // Warm-up of every target (JIT, pools, prepared statements), not measured.
  for (const target of [on, off]) {
    const scratch: number[] = [];
    for (let i = 0; i < WARMUP_WRITES; i++) await create(target, scratch);
  }
  await drive(emptySample(), 1, WARMUP_WRITES, async () => {
    await pool.query('INSERT INTO bench_scratch (v) VALUES ($1)', ['warm-up']);
  });

  for (const _round of run.rounds()) {
    const samples = new Map<string, { on: Sample; off: Sample; insert: Sample }>();
    for (const phase of PHASES) {
      const s = { on: emptySample(), off: emptySample(), insert: emptySample() };
      samples.set(phase.name, s);
      const steps = [
        () => websiteChunk(on, phase, s.on),
        () => websiteChunk(off, phase, s.off),
        () => insertChunk(pool, phase, s.insert),
      ];
      const deadline = performance.now() + PHASE_CAP_MS;
      for (let i = 0; i < phase.chunks && performance.now() < deadline; i++) {
        for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
      }
    }
    const c1 = (name: string) => samples.get(name)!;
    run.record('create.c1.p50', p50(c1('create1').on), p50(c1('create1').insert));
    run.record('update.c1.p50', p50(c1('update1').on), p50(c1('update1').insert));
    run.record('create.c8.rate', rate(c1('create8').on), rate(c1('create8').insert));
    run.record('update.c8.rate', rate(c1('update8').on), rate(c1('update8').insert));
    run.record('overhead.create.c1.p50', p50(c1('create1').on), p50(c1('create1').off));
    run.record('overhead.update.c1.p50', p50(c1('update1').on), p50(c1('update1').off));
    run.record('overhead.create.c8.rate', rate(c1('create8').on), rate(c1('create8').off));
    run.record('overhead.update.c8.rate', rate(c1('update8').on), rate(c1('update8').off));
  }

  const lastWrite = performance.now();
  const count = async (t: Target, sql: string) =>
    (await t.api.database.pool.query<{ n: number }>(sql)).rows[0]!.n;
  const written = await count(on, 'SELECT count(*)::int AS n FROM ws_events');
  const published = () => count(on, 'SELECT last_published_id::int AS n FROM ws_relay_state');
  while ((await published()) < written && performance.now() - lastWrite < RELAY_CATCH_UP_CAP_MS) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const offEvents = await count(off, 'SELECT count(*)::int AS n FROM ws_events');
  const relayed = await published();
  run.note(
    `events written: log on ${written}, log off ${offEvents} (must be 0); relay published ${relayed}/${written}, caught up ${(performance.now() - lastWrite).toFixed(0)} ms after the last write`,
  );
  run.note(`total bench time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
  failed = offEvents !== 0 || relayed !== written;
  await run.finish();
} finally {
  await pool.end();
  await tearDown(on);
  await tearDown(off);
}
if (failed) process.exitCode = 1;

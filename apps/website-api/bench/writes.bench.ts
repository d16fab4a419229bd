/**
 * Write benchmark of website-api: creates and updates over HTTP, with 1 client (the latency of one
 * write) and 8 concurrent clients (throughput), each beside same-run baselines:
 * - the database's own floor: a raw `pg` single-row INSERT commit into a scratch table of the
 *   bench's database (p50 with 1 client, commits/s with 8 clients);
 * - the same service with the event log off (no event row, no relay): the overhead of the log;
 * - with 1 client, also the log-off service publishing one message per write to JetStream with a
 *   bare client, after the answer as the relay does: the broker's cost of one publish per write,
 *   which the relay cannot batch away with one writer. The log's 1-client rows are judged against
 *   it (why: apps/website-api/README.md, Performance).
 * The services run side by side on databases of their own, each in a process of its own (as
 * deployed: bench/service-process.ts), loaded over HTTP from this one; the targets (log on, log
 * off, log off + bare publish, raw insert) take turns in short chunks (rotating order), so load
 * from anything else on the machine hits them alike. Rounds: TIDELINE_BENCH_ROUNDS (default 3);
 * results in bench/results/website-api.json.
 *
 * `npm run bench -w @tideline/website-api` — needs PostgreSQL, Redis and NATS. Bounded: fixed
 * request counts per chunk and chunks per phase, each phase also capped in time.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SCOPES } from '@tideline/auth';
import { BenchHttpClient, BenchRun, quantile } from '@tideline/bench';
import { TestDatabase, testToken } from '@tideline/test-support';
import pg from 'pg';
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
/**
 * Websites each service holds before the first round (created through its API by 8 clients, not
 * measured): the bench measures a service with a catalogue, not its first writes into empty tables.
 */
const SEEDED_WEBSITES = 2_000;
const RELAY_CATCH_UP_CAP_MS = 10_000;
/** A service process: start with migrations, and stop. */
const SERVICE_START_TIMEOUT_MS = 60_000;
const SERVICE_STOP_TIMEOUT_MS = 15_000;

/**
 * `on`: the service; `off`: the same service with the event log off (no event row, no relay);
 * `bare`: the log-off service publishing one message per write to JetStream with a bare client,
 * as the relay publishes (bench/service-process.ts), in the 1-client phases only.
 */
type Mode = 'on' | 'off' | 'bare';
/** The phases the `bare` target takes part in: the relay cannot batch there. */
const BARE_PHASES: ReadonlySet<Phase['name']> = new Set(['create1', 'update1']);
const token = testToken('bench', [SCOPES.websitesRead, SCOPES.websitesWrite]);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
/** The clients' connections: one per concurrent client (BenchHttpClient: fetch would cost more CPU than the writes). */
const http = new BenchHttpClient({ maxSockets: CLIENTS });

interface Sample {
  count: number;
  wallMs: number;
  latencies: number[];
  /** CPU milliseconds spent by each process group while this sample's chunks ran. */
  cpuMs: Record<CpuGroup, number>;
}
const emptySample = (): Sample => ({
  count: 0,
  wallMs: 0,
  latencies: [],
  cpuMs: { service: 0, postgres: 0, nats: 0, bench: 0 },
});

/** Where a write's CPU goes: the target's service process, PostgreSQL, nats-server, this process (the clients). */
type CpuGroup = 'service' | 'postgres' | 'nats' | 'bench';
const CLOCK_TICKS_PER_SECOND = 100;
/** utime + stime of a process in ms (0 when it is gone). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
/** Processes whose command name is `name` (every PostgreSQL backend of the server, nats-server). */
function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    })
    .map(Number);
}
function cpuNow(service: ChildProcess): Record<CpuGroup, number> {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + processCpuMs(pid), 0);
  const own = process.cpuUsage();
  return {
    service: processCpuMs(service.pid!),
    postgres: sum(pidsNamed('postgres')),
    nats: sum(pidsNamed('nats-server')),
    bench: (own.user + own.system) / 1000,
  };
}
const p50 = (s: Sample) => quantile(s.latencies, 0.5);
const rate = (s: Sample) => (s.count * 1000) / s.wallMs;

interface Target {
  mode: Mode;
  api: { url: string; process: ChildProcess };
  /** The target's database, for the bench's own counts. */
  sql: pg.Pool;
  database: TestDatabase;
  prefix: string;
  lineGroupId: number;
  /** Websites created so far with 1 and with 8 clients; the update phases change them in turn. */
  created: { 1: number[]; 8: number[] };
  cursor: { 1: number; 8: number };
  /** Writes the service answered with success. */
  writes: number;
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; data?: { id?: number; website_id?: number } }> {
  const answer = await http.json<{ data?: { id?: number; website_id?: number } }>(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { status: answer.status, ...(answer.body.data ? { data: answer.body.data } : {}) };
}

async function setUp(mode: Mode): Promise<Target> {
  const database = await TestDatabase.create('tideline_bench');
  const prefix = uniquePrefix('bench');
  const api = await startService(mode, {
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
  });
  const lineGroup = await post(`${api.url}/api/v1/line-groups/create`, {
    name: `bench-${mode}`,
    cname: `bench-${mode}.cdn.example.net`,
  });
  return {
    mode,
    api,
    sql: new pg.Pool({ connectionString: database.url, max: 2 }),
    database,
    prefix,
    lineGroupId: lineGroup.data!.id!,
    created: { 1: [], 8: [] },
    cursor: { 1: 0, 8: 0 },
    writes: 0,
  };
}

/** The stream the `bare` target publishes to (removed with the target's other streams). */
const bareStream = (prefix: string) => `${prefix}_bare`;

/** website-api as `mode` in a process of its own (bench/service-process.ts), once it listens. */
function startService(mode: Mode, env: Record<string, string>): Promise<Target['api']> {
  const child = fork(fileURLToPath(new URL('./service-process.ts', import.meta.url)), [], {
    // BENCH_CPU_PROF_DIR: each service writes a CPU profile there when it stops.
    execArgv: [
      '--import',
      'tsx',
      ...(process.env['BENCH_CPU_PROF_DIR']
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${process.env['BENCH_CPU_PROF_DIR']}`,
            `--cpu-prof-name=website-api-log-${mode}.cpuprofile`,
          ]
        : []),
    ],
    env: {
      PATH: process.env['PATH'] ?? '',
      ...env,
      ...(mode === 'on' ? {} : { BENCH_WITHOUT_EVENT_LOG: '1' }),
      ...(mode === 'bare' ? { BENCH_BARE_PUBLISH_STREAM: bareStream(env['TIDELINE_BUS_PREFIX']!) } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`website-api (log ${mode}) did not start within ${SERVICE_START_TIMEOUT_MS} ms`));
    }, SERVICE_START_TIMEOUT_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve({ url: (message as { url: string }).url, process: child });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`website-api (log ${mode}) exited at start (${code ?? signal})`));
    });
  });
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), SERVICE_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function tearDown(target: Target): Promise<void> {
  await stopService(target.api.process);
  await target.sql.end();
  await removeStreams(target.prefix);
  await target.database[Symbol.asyncDispose]();
}

/** Messages in `stream` once it holds `expected` (or the catch-up cap after `since` passed). */
async function streamMessages(stream: string, expected: number, since: number): Promise<number> {
  const nc = await connect({ servers: NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    for (;;) {
      const stored = (await jsm.streams.info(stream)).state.messages;
      if (stored >= expected || performance.now() - since > RELAY_CATCH_UP_CAP_MS) return stored;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await nc.close();
  }
}

let serial = 0;
async function create(target: Target, into: number[]): Promise<void> {
  const n = serial++;
  const answer = await post(`${target.api.url}/api/v1/websites/create`, {
    domains: [`www.site-${n}.bench.example.com`, `site-${n}.bench.example.com`],
    line_group_id: target.lineGroupId,
  });
  if (answer.status !== 201) throw new Error(`create answered ${answer.status}`);
  target.writes++;
  into.push(answer.data!.website_id!);
}

async function update(target: Target, websiteId: number): Promise<void> {
  const answer = await post(`${target.api.url}/api/v1/websites/update`, {
    website_id: websiteId,
    status: serial++ % 2 === 0 ? 'paused' : 'active',
    https_enabled: serial % 3 === 0,
  });
  if (answer.status !== 200) throw new Error(`update answered ${answer.status}`);
  target.writes++;
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

async function websiteChunk(target: Target, phase: Phase, sample: Sample): Promise<void> {
  const ids = target.created[phase.clients];
  const before = cpuNow(target.api.process);
  await drive(sample, phase.clients, phase.chunk, () => {
    if (phase.op === 'create') return create(target, ids);
    const id = ids[target.cursor[phase.clients]++ % ids.length]!;
    return update(target, id);
  });
  const after = cpuNow(target.api.process);
  for (const group of Object.keys(after) as CpuGroup[])
    sample.cpuMs[group] += Math.max(0, after[group] - before[group]);
}

/** CPU per write of each process group, e.g. `service 0.41 + postgres 0.22 + nats 0.05 + clients 0.20 = 0.88 ms`. */
function cpuPerWrite(sample: Sample): string {
  const per = (group: CpuGroup) => sample.cpuMs[group] / sample.count;
  const groups: [CpuGroup, string][] = [
    ['service', 'service'],
    ['postgres', 'postgres'],
    ['nats', 'nats'],
    ['bench', 'clients'],
  ];
  const total = groups.reduce((sum, [group]) => sum + per(group), 0);
  return `${groups.map(([group, label]) => `${label} ${per(group).toFixed(2)}`).join(' + ')} = ${total.toFixed(2)} ms`;
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
const barePublish = 'event log off, one bare JetStream publish per write';
const barePublishGoal =
  'issue 17 (≤ ×1.15 of log off), judged against log off with the one broker publish per write any relay makes: at 1 client the relay cannot batch (see apps/website-api/README.md)';
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
    id: 'overhead.create.c1.p50.publishing',
    label: 'create p50, 1 client: log + relay on vs off + bare publish',
    unit: 'ms',
    better: 'lower',
    baseline: barePublish,
    goal: 1.15,
    goalNote: barePublishGoal,
  },
  {
    id: 'overhead.update.c1.p50.publishing',
    label: 'update p50, 1 client: log + relay on vs off + bare publish',
    unit: 'ms',
    better: 'lower',
    baseline: barePublish,
    goal: 1.15,
    goalNote: barePublishGoal,
  },
  {
    id: 'overhead.create.c1.p50',
    label: 'create p50, 1 client: log + relay on vs off',
    unit: 'ms',
    better: 'lower',
    baseline: 'event log off',
  },
  {
    id: 'overhead.update.c1.p50',
    label: 'update p50, 1 client: log + relay on vs off',
    unit: 'ms',
    better: 'lower',
    baseline: 'event log off',
  },
  {
    id: 'publish.create.c1.p50',
    label: 'create p50, 1 client: log off + bare publish vs off (the broker floor)',
    unit: 'ms',
    better: 'lower',
    baseline: 'event log off',
  },
  {
    id: 'publish.update.c1.p50',
    label: 'update p50, 1 client: log off + bare publish vs off (the broker floor)',
    unit: 'ms',
    better: 'lower',
    baseline: 'event log off',
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
const bare = await setUp('bare');
const targets = [on, off, bare];
const pool = new pg.Pool({ connectionString: on.database.url, max: CLIENTS });
let failed = false;
try {
  await pool.query('CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, v text NOT NULL)');
  // Warm-up of every target (JIT, pools, prepared statements) and its catalogue, not measured.
  for (const target of targets) {
    const seeded: number[] = [];
    await drive(emptySample(), CLIENTS, SEEDED_WEBSITES, () => create(target, seeded));
  }
  await drive(emptySample(), 1, WARMUP_WRITES, async () => {
    await pool.query('INSERT INTO bench_scratch (v) VALUES ($1)', ['warm-up']);
  });

  for (const _round of run.rounds()) {
    // What autovacuum does in a deployment (this machine's PostgreSQL runs with it off, see
    // bench/README.md): without statistics, PostgreSQL keeps plans made for nearly empty tables,
    // and the create's domain check scans website_domains, slower with every website written.
    for (const target of targets) await target.sql.query('VACUUM (ANALYZE)');
    const samples = new Map<string, { on: Sample; off: Sample; bare: Sample; insert: Sample }>();
    for (const phase of PHASES) {
      const s = { on: emptySample(), off: emptySample(), bare: emptySample(), insert: emptySample() };
      samples.set(phase.name, s);
      const steps = [
        () => websiteChunk(on, phase, s.on),
        () => websiteChunk(off, phase, s.off),
        ...(BARE_PHASES.has(phase.name) ? [() => websiteChunk(bare, phase, s.bare)] : []),
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
    run.record('overhead.create.c1.p50.publishing', p50(c1('create1').on), p50(c1('create1').bare));
    run.record('overhead.update.c1.p50.publishing', p50(c1('update1').on), p50(c1('update1').bare));
    run.record('overhead.create.c1.p50', p50(c1('create1').on), p50(c1('create1').off));
    run.record('overhead.update.c1.p50', p50(c1('update1').on), p50(c1('update1').off));
    run.record('publish.create.c1.p50', p50(c1('create1').bare), p50(c1('create1').off));
    run.record('publish.update.c1.p50', p50(c1('update1').bare), p50(c1('update1').off));
    run.record('overhead.create.c8.rate', rate(c1('create8').on), rate(c1('create8').off));
    run.record('overhead.update.c8.rate', rate(c1('update8').on), rate(c1('update8').off));
    for (const name of ['create8', 'update8'])
      run.note(
        `CPU per write, ${name} (processes sampled around each chunk; PostgreSQL and nats-server count whatever else ran on them): log on ${cpuPerWrite(c1(name).on)}; log off ${cpuPerWrite(c1(name).off)}`,
      );
  }

  const lastWrite = performance.now();
  const count = async (t: Target, sql: string) => (await t.sql.query<{ n: number }>(sql)).rows[0]!.n;
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
  const bareEvents = await count(bare, 'SELECT count(*)::int AS n FROM ws_events');
  const barePublished = await streamMessages(bareStream(bare.prefix), bare.writes, lastWrite);
  run.note(
    `bare publishes: ${barePublished}/${bare.writes} writes of the log-off + bare publish service stored by JetStream (events written ${bareEvents}, must be 0)`,
  );
  run.note(`total bench time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
  failed = offEvents !== 0 || relayed !== written || bareEvents !== 0 || barePublished !== bare.writes;
  await run.finish();
} finally {
  http.close();
  await pool.end();
  for (const target of targets) await tearDown(target);
}
if (failed) process.exitCode = 1;

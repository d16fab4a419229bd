/**
 * Write benchmark of website-api: creates and updates over HTTP with the event log and the relay
 * on, next to the same writes with the event log off (baseline), in the same run — with 8
 * concurrent clients (throughput, queueing on the topic lock) and with 1 client (the latency one
 * write adds). Both services run side by side on databases of their own, and the modes alternate
 * in short chunks (on, off, off, on, …), so load from anything else on the machine hits both alike.
 * Prints throughput, p50/p99 latency per mode and the overhead ratios.
 *
 * `npm run bench -w @tideline/website-api` — needs PostgreSQL and NATS (TIDELINE_NATS_URL,
 * default nats://127.0.0.1:4222). Bounded: fixed request counts, each phase also capped in time.
 */
import { SCOPES } from '@tideline/auth';
import { TestDatabase, testToken } from '@tideline/test-support';
import pg from 'pg';
import { startWebsiteApi, type WebsiteApi } from '../src/service.ts';
import { NATS_URL, removeStreams, uniquePrefix } from '../test/harness.ts';

const CLIENTS = 8;
/** Requests per chunk, and chunks per mode, of each phase. */
const PHASES = [
  { name: 'create', op: 'create', clients: CLIENTS, chunk: 80, chunks: 10 },
  { name: 'update', op: 'update', clients: CLIENTS, chunk: 80, chunks: 10 },
  { name: 'create1', op: 'create', clients: 1, chunk: 20, chunks: 10 },
  { name: 'update1', op: 'update', clients: 1, chunk: 20, chunks: 10 },
] as const;
const PHASE_CAP_MS = 12_000;
const WARMUP_WRITES = 100;
const RELAY_CATCH_UP_CAP_MS = 10_000;

type Mode = 'on' | 'off';
const token = testToken('bench', [SCOPES.websitesRead, SCOPES.websitesWrite]);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

interface Sample {
  count: number;
  wallMs: number;
  latencies: number[];
}

interface Target {
  mode: Mode;
  api: WebsiteApi;
  database: TestDatabase;
  prefix: string;
  sql: pg.Client;
  lineGroupId: number;
  /** Websites created by each create phase (`create`, `create1`), updated by the matching update phase. */
  created: Record<string, number[]>;
  /** Next website each update phase changes. */
  cursors: Record<string, number>;
  samples: Record<string, Sample>;
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
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const lineGroup = await post(`${api.url}/api/v1/line-groups/create`, {
    name: `bench-${mode}`,
    cname: `bench-${mode}.cdn.example.net`,
  });
  return {
    mode,
    api,
    database,
    prefix,
    sql,
    lineGroupId: lineGroup.data!.id!,
    created: { create: [], create1: [] },
    cursors: Object.fromEntries(PHASES.map((p) => [p.name, 0])),
    samples: Object.fromEntries(PHASES.map((p) => [p.name, { count: 0, wallMs: 0, latencies: [] }])),
  };
}

async function tearDown(target: Target): Promise<void> {
  await target.sql.end();
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
    status: 'paused',
    https_enabled: true,
  });
  if (answer.status !== 200) throw new Error(`update answered ${answer.status}`);
}

/** One chunk: `count` requests from `clients` concurrent clients; latencies and wall time added to the target's sample. */
async function chunk(target: Target, phase: (typeof PHASES)[number], count: number): Promise<void> {
  const sample = target.samples[phase.name]!;
  const ids = target.created[phase.clients === 1 ? 'create1' : 'create']!;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: phase.clients }, async () => {
      while (done < count) {
        done++;
        const t0 = performance.now();
        if (phase.op === 'create') await create(target, ids);
        else await update(target, ids[target.cursors[phase.name]!++ % ids.length]!);
        sample.latencies.push(performance.now() - t0);
      }
    }),
  );
  sample.wallMs += performance.now() - started;
  sample.count += count;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
function summary(sample: Sample) {
  const sorted = [...sample.latencies].sort((a, b) => a - b);
  return {
    count: sample.count,
    rps: (sample.count * 1000) / sample.wallMs,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

const benchStarted = performance.now();
const on = await setUp('on');
const off = await setUp('off');
try {
  // Warm-up of both (JIT, pools, prepared statements), not measured.
  for (const target of [on, off]) {
    const scratch: number[] = [];
    for (let i = 0; i < WARMUP_WRITES; i++) await create(target, scratch);
  }
  for (const phase of PHASES) {
    const deadline = performance.now() + PHASE_CAP_MS;
    for (let i = 0; i < phase.chunks && performance.now() < deadline; i++) {
      const order = i % 2 === 0 ? [on, off] : [off, on];
      for (const target of order) await chunk(target, phase, phase.chunk);
    }
  }
  const lastWrite = performance.now();
  const events = async (t: Target) =>
    (await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ws_events`)).rows[0]!.n;
  const published = async () =>
    (await on.sql.query<{ p: number }>(`SELECT last_published_id::int AS p FROM ws_relay_state`)).rows[0]!.p;
  const written = await events(on);
  while ((await published()) < written && performance.now() - lastWrite < RELAY_CATCH_UP_CAP_MS) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const catchUpMs = performance.now() - lastWrite;

  const pad = (value: string | number, width: number) => String(value).padStart(width);
  console.log(
    'website-api write benchmark: HTTP, PostgreSQL + NATS on this machine; modes side by side, alternating in chunks',
  );
  console.log(
    `${'mode'.padEnd(26)} ${'op'.padEnd(7)} ${pad('clients', 7)} ${pad('n', 5)} ${pad('req/s', 8)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)}`,
  );
  const overheads: string[] = [];
  for (const phase of PHASES) {
    const a = summary(on.samples[phase.name]!);
    const b = summary(off.samples[phase.name]!);
    for (const [label, s] of [
      ['event log + relay', a],
      ['event log off (baseline)', b],
    ] as const) {
      console.log(
        `${label.padEnd(26)} ${phase.op.padEnd(7)} ${pad(phase.clients, 7)} ${pad(s.count, 5)} ${pad(s.rps.toFixed(0), 8)} ${pad(s.p50.toFixed(2), 8)} ${pad(s.p99.toFixed(2), 8)}`,
      );
    }
    overheads.push(
      `overhead ${phase.op} with ${phase.clients} client(s) (event log + relay / off): throughput x${(a.rps / b.rps).toFixed(2)}, p50 x${(a.p50 / b.p50).toFixed(2)}, p99 x${(a.p99 / b.p99).toFixed(2)}`,
    );
  }
  for (const line of overheads) console.log(line);
  const offEvents = await events(off);
  const relayed = await published();
  console.log(
    `events written: on ${written}, off ${offEvents} (must be 0); relay published ${relayed}/${written}, caught up ${catchUpMs.toFixed(0)} ms after the last write`,
  );
  console.log(`total bench time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
  if (offEvents !== 0 || relayed !== written) process.exitCode = 1;
} finally {
  await tearDown(on);
  await tearDown(off);
}

/**
 * Write benchmark of website-api: creates and updates over HTTP with the event log and the relay
 * on, next to the same writes with the event log off (baseline), in the same run, on the same
 * machine. Prints throughput and p50/p99 latency per mode and the overhead ratio.
 *
 * `npm run bench -w @tideline/website-api` — needs PostgreSQL and NATS (TIDELINE_NATS_URL,
 * default nats://127.0.0.1:4222). Bounded: fixed request counts, each phase also capped in time.
 */
import { SCOPES } from '@tideline/auth';
import { TestDatabase, testToken } from '@tideline/test-support';
import pg from 'pg';
import { startWebsiteApi, type WebsiteApi } from '../src/index.ts';
import { deleteStreams, NATS_URL, uniquePrefix } from '../test/harness.ts';

const CLIENTS = 8;
const WRITES_PER_PHASE = 1_200;
const PHASE_CAP_MS = 6_000;
const WARMUP_WRITES = 300;
const RELAY_CATCH_UP_CAP_MS = 15_000;

const token = testToken('bench', [SCOPES.websitesRead, SCOPES.websitesWrite]);

interface PhaseResult {
  count: number;
  wallMs: number;
  latencies: number[];
}

interface ModeRun {
  mode: 'on' | 'off';
  create: PhaseResult;
  update: PhaseResult;
  events: number;
  relayCatchUpMs?: number;
  published?: number;
}

async function post(url: string, body: unknown): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

/** `total` requests from CLIENTS concurrent clients, stopping early at the time cap. */
async function phase(
  total: number,
  request: (i: number) => Promise<number>,
  expected: number,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  const deadline = performance.now() + PHASE_CAP_MS;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < total && performance.now() < deadline; i = next++) {
        const t0 = performance.now();
        const status = await request(i);
        latencies.push(performance.now() - t0);
        if (status !== expected) throw new Error(`request ${i} answered ${status}, expected ${expected}`);
      }
    }),
  );
  return { count: latencies.length, wallMs: performance.now() - started, latencies };
}

async function startApi(
  database: TestDatabase,
  prefix: string,
  withoutEventLog: boolean,
): Promise<WebsiteApi> {
  return startWebsiteApi({
    withoutEventLog,
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
      },
    },
  });
}

async function run(mode: 'on' | 'off', tag: string, writes: number): Promise<ModeRun> {
  const database = await TestDatabase.create('tideline_bench');
  const prefix = uniquePrefix('bench');
  const api = await startApi(database, prefix, mode === 'off');
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  try {
    const lineGroup = await fetch(`${api.url}/api/v1/line-groups/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-${tag}`, cname: `bench-${tag}.cdn.example.net` }),
    }).then((r) => r.json() as Promise<{ data: { id: number } }>);
    const ids: number[] = [];
    const create = await phase(
      writes,
      async (i) => {
        const response = await fetch(`${api.url}/api/v1/websites/create`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            domains: [`www.${tag}-${i}.bench.example.com`, `${tag}-${i}.bench.example.com`],
            line_group_id: lineGroup.data.id,
          }),
        });
        const body = (await response.json()) as { data: { website_id: number } };
        if (response.status === 201) ids.push(body.data.website_id);
        return response.status;
      },
      201,
    );
    const update = await phase(
      Math.min(writes, ids.length),
      (i) =>
        post(`${api.url}/api/v1/websites/update`, {
          website_id: ids[i]!,
          status: 'paused',
          https_enabled: true,
        }),
      200,
    );
    const lastWrite = performance.now();
    const [{ events }] = (await sql.query(`SELECT count(*)::int AS events FROM ws_events`)).rows as [
      { events: number },
    ];
    const result: ModeRun = { mode, create, update, events };
    if (mode === 'on') {
      const deadline = lastWrite + RELAY_CATCH_UP_CAP_MS;
      for (;;) {
        const { rows } = await sql.query(`SELECT last_published_id::int AS p FROM ws_relay_state`);
        result.published = rows[0].p as number;
        if (result.published >= events || performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      result.relayCatchUpMs = performance.now() - lastWrite;
    }
    return result;
  } finally {
    await sql.end();
    await api.stop('bench done');
    await deleteStreams(prefix);
    await database[Symbol.asyncDispose]();
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

function summarise(results: PhaseResult[]) {
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const count = results.reduce((n, r) => n + r.count, 0);
  const wallMs = results.reduce((n, r) => n + r.wallMs, 0);
  return {
    count,
    rps: (count * 1000) / wallMs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const benchStarted = performance.now();
await run('on', 'warmup', WARMUP_WRITES);
// Interleaved, so neither mode profits from running later (warmer caches, JIT).
const runs: ModeRun[] = [];
for (const [i, mode] of (['off', 'on', 'on', 'off'] as const).entries())
  runs.push(await run(mode, `r${i}`, WRITES_PER_PHASE / 2));

const rows: string[] = [];
const figures: Record<string, Record<string, ReturnType<typeof summarise>>> = {};
for (const op of ['create', 'update'] as const) {
  for (const mode of ['on', 'off'] as const) {
    const s = summarise(runs.filter((r) => r.mode === mode).map((r) => r[op]));
    figures[op] = { ...figures[op], [mode]: s };
    const label = mode === 'on' ? 'event log + relay' : 'event log off (baseline)';
    rows.push(
      `${label.padEnd(26)} ${op.padEnd(7)} ${String(s.count).padStart(5)} ${s.rps.toFixed(0).padStart(8)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)}`,
    );
  }
}
const on = runs.filter((r) => r.mode === 'on');
const off = runs.filter((r) => r.mode === 'off');
console.log(
  `website-api write benchmark: ${CLIENTS} concurrent HTTP clients, PostgreSQL + NATS on this machine, modes interleaved in one run`,
);
console.log(
  `${'mode'.padEnd(26)} ${'op'.padEnd(7)} ${'n'.padStart(5)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
);
for (const row of rows) console.log(row);
for (const op of ['create', 'update'] as const) {
  const { on: a, off: b } = figures[op] as {
    on: ReturnType<typeof summarise>;
    off: ReturnType<typeof summarise>;
  };
  console.log(
    `overhead ${op.padEnd(6)} (event log + relay / off): throughput x${(a.rps / b.rps).toFixed(2)}, p50 x${(a.p50 / b.p50).toFixed(2)}, p99 x${(a.p99 / b.p99).toFixed(2)}`,
  );
}
console.log(
  `events written: on ${on.map((r) => r.events).join(' + ')}, off ${off.map((r) => r.events).join(' + ')} (must be 0)`,
);
console.log(
  `relay: ${on.map((r) => `${r.published}/${r.events} published, caught up ${r.relayCatchUpMs?.toFixed(0)} ms after the last write`).join('; ')}`,
);
console.log(`total bench time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
if (off.some((r) => r.events !== 0) || on.some((r) => r.published !== r.events)) process.exitCode = 1;

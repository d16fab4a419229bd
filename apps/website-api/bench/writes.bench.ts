/**
 * Write benchmark of website-api: creates and updates over HTTP with the event log and the relay
 * on, next to the same writes with the event log off (baseline), in the same run, on the same
 * machine — with 8 concurrent clients (throughput, queueing on the topic lock) and with 1 client
 * (the added latency of one write). Prints throughput, p50/p99 latency and the overhead ratios.
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
const WRITES_PER_RUN = 500;
const SEQUENTIAL_WRITES_PER_RUN = 120;
const PHASE_CAP_MS = 5_000;
const WARMUP_WRITES = 200;
const RELAY_CATCH_UP_CAP_MS = 10_000;
/** Interleaved, so neither mode profits from running later (warmer caches, JIT) or earlier. */
const SCHEDULE = ['off', 'on', 'on', 'off'] as const;

const token = testToken('bench', [SCOPES.websitesRead, SCOPES.websitesWrite]);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

type Mode = 'on' | 'off';
type Phase = 'create' | 'update' | 'create1' | 'update1';

interface PhaseResult {
  count: number;
  wallMs: number;
  latencies: number[];
}

interface ModeRun {
  mode: Mode;
  phases: Record<Phase, PhaseResult>;
  events: number;
  published?: number;
  relayCatchUpMs?: number;
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; body: { data?: { website_id: number } } }> {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { data?: { website_id: number } } };
}

/** `total` requests from `clients` concurrent clients, stopping early at the time cap. */
async function phase(
  total: number,
  clients: number,
  request: (i: number) => Promise<void>,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  const deadline = performance.now() + PHASE_CAP_MS;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < total && performance.now() < deadline; i = next++) {
        const t0 = performance.now();
        await request(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { count: latencies.length, wallMs: performance.now() - started, latencies };
}

function startApi(database: TestDatabase, prefix: string, mode: Mode): Promise<WebsiteApi> {
  return startWebsiteApi({
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
      },
    },
  });
}

async function run(mode: Mode, tag: string, writes: number, sequentialWrites: number): Promise<ModeRun> {
  const database = await TestDatabase.create('tideline_bench');
  const prefix = uniquePrefix('bench');
  const api = await startApi(database, prefix, mode);
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  try {
    const lineGroup = await post(`${api.url}/api/v1/line-groups/create`, {
      name: `bench-${tag}`,
      cname: `bench-${tag}.cdn.example.net`,
    });
    const lineGroupId = (lineGroup.body.data as unknown as { id: number }).id;
    const create = (ids: number[], name: string) => async (i: number) => {
      const answer = await post(`${api.url}/api/v1/websites/create`, {
        domains: [`www.${name}-${i}.bench.example.com`, `${name}-${i}.bench.example.com`],
        line_group_id: lineGroupId,
      });
      if (answer.status !== 201) throw new Error(`create answered ${answer.status}`);
      ids.push(answer.body.data!.website_id);
    };
    const update = (ids: number[]) => async (i: number) => {
      const answer = await post(`${api.url}/api/v1/websites/update`, {
        website_id: ids[i]!,
        status: 'paused',
        https_enabled: true,
      });
      if (answer.status !== 200) throw new Error(`update answered ${answer.status}`);
    };
    const ids: number[] = [];
    const sequentialIds: number[] = [];
    const phases = {} as Record<Phase, PhaseResult>;
    phases.create = await phase(writes, CLIENTS, create(ids, tag));
    phases.update = await phase(ids.length, CLIENTS, update(ids));
    phases.create1 = await phase(sequentialWrites, 1, create(sequentialIds, `${tag}-seq`));
    phases.update1 = await phase(sequentialIds.length, 1, update(sequentialIds));
    const lastWrite = performance.now();
    const { rows } = await sql.query<{ events: number }>(`SELECT count(*)::int AS events FROM ws_events`);
    const result: ModeRun = { mode, phases, events: rows[0]!.events };
    if (mode === 'on') {
      const deadline = lastWrite + RELAY_CATCH_UP_CAP_MS;
      for (;;) {
        const state = await sql.query<{ published: number }>(
          `SELECT last_published_id::int AS published FROM ws_relay_state`,
        );
        result.published = state.rows[0]!.published;
        if (result.published >= result.events || performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
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
await run('on', 'warmup', WARMUP_WRITES, 20);
const runs: ModeRun[] = [];
for (const [i, mode] of SCHEDULE.entries())
  runs.push(await run(mode, `r${i}`, WRITES_PER_RUN, SEQUENTIAL_WRITES_PER_RUN));

const PHASES: { phase: Phase; op: string; clients: number }[] = [
  { phase: 'create', op: 'create', clients: CLIENTS },
  { phase: 'update', op: 'update', clients: CLIENTS },
  { phase: 'create1', op: 'create', clients: 1 },
  { phase: 'update1', op: 'update', clients: 1 },
];
const pad = (value: string | number, width: number) => String(value).padStart(width);
console.log(
  'website-api write benchmark: HTTP clients, PostgreSQL + NATS on this machine, modes interleaved in one run',
);
console.log(
  `${'mode'.padEnd(26)} ${'op'.padEnd(7)} ${pad('clients', 7)} ${pad('n', 5)} ${pad('req/s', 8)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)}`,
);
const overheads: string[] = [];
for (const { phase: key, op, clients } of PHASES) {
  const on = summarise(runs.filter((r) => r.mode === 'on').map((r) => r.phases[key]));
  const off = summarise(runs.filter((r) => r.mode === 'off').map((r) => r.phases[key]));
  for (const [label, s] of [
    ['event log + relay', on],
    ['event log off (baseline)', off],
  ] as const) {
    console.log(
      `${label.padEnd(26)} ${op.padEnd(7)} ${pad(clients, 7)} ${pad(s.count, 5)} ${pad(s.rps.toFixed(0), 8)} ${pad(s.p50.toFixed(2), 8)} ${pad(s.p99.toFixed(2), 8)}`,
    );
  }
  overheads.push(
    `overhead ${op} with ${clients} client(s) (event log + relay / off): throughput x${(on.rps / off.rps).toFixed(2)}, p50 x${(on.p50 / off.p50).toFixed(2)}, p99 x${(on.p99 / off.p99).toFixed(2)}`,
  );
}
for (const line of overheads) console.log(line);
const on = runs.filter((r) => r.mode === 'on');
const off = runs.filter((r) => r.mode === 'off');
console.log(
  `events written: on ${on.map((r) => r.events).join(' + ')}, off ${off.map((r) => r.events).join(' + ')} (must be 0)`,
);
console.log(
  `relay: ${on.map((r) => `${r.published}/${r.events} published, caught up ${r.relayCatchUpMs?.toFixed(0)} ms after the last write`).join('; ')}`,
);
console.log(`total bench time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
if (off.some((r) => r.events !== 0) || on.some((r) => r.published !== r.events)) process.exitCode = 1;

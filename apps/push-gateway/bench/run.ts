/**
 * push-gateway benchmark (`npm run bench -w @tideline/push-gateway`), @tideline/bench rounds
 * (TIDELINE_BENCH_ROUNDS, default 3); each round measures Tideline and plain Socket.IO back to back.
 *
 * Topology, all on this machine: website-api (child process, its own PostgreSQL database),
 * two push-gateways (child processes, shared NATS and Redis, private prefixes), two plain
 * Socket.IO servers with the same Redis adapter as the baseline (child processes), and CLIENTS
 * clients in this process per side, connected afresh each round (half on each server). Per round:
 *   1. memory per idle subscribed socket: heap+external growth (after GC) of one server while its
 *      half of the clients connect (Tideline sockets also ask for the websites), after both sides
 *      connected and closed BENCH_ROUND_WARMUP sockets (code compiled meanwhile is no socket's);
 *   2. end-to-end latency, HTTP write → client: Tideline = POST /api/v1/websites/create to
 *      website-api → commit → relay → NATS → gateway → socket; baseline = POST of the same message
 *      to a plain server → io.to(room).emit → Redis adapter → socket; and the gateways' own share,
 *      bus publish → client (events published on the bus as the relay does), against the same baseline;
 *      and, for scale, a raw single-row INSERT commit into the bench's database paced as the writes
 *      are against the same INSERTs back to back (what waking idle processes adds to one round trip);
 *   3. fan-out throughput: a burst of BURST messages to every client (Tideline: events published
 *      on the bus as the relay does; baseline: the same messages emitted by a plain server);
 *   4. resume storm: every client asks for a snapshot at once (Tideline: `request:websites {}`;
 *      baseline: the plain server answers each with `socket.emit` of the same snapshot), timed
 *      until every client has it; the gateways' serialisations of it are read from /metrics.
 * Latency is from just before the HTTP request is sent to the client's handler; all clients live
 * in one process, so the figures include that process's queueing, equally for both.
 *
 * With BENCH_TRACING=1 (`npm run bench:gateway:tracing`) the run also starts a second pair of
 * gateways with OpenTelemetry on at 100 % sampling (exporting over OTLP/HTTP to a receiver in
 * this process, on a bus prefix of their own) and as many clients on them, and each round also
 * measures the fan-out burst there: the traced/untraced throughput ratio.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BenchHttpClient, BenchRun, type HttpAnswer, quantile } from '@tideline/bench';
import { createEventBus } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';
import {
  type ClientToServerEvents,
  SCHEMA_VERSION,
  type ServerToClientEvents,
  subjects,
  type WebsiteItem,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import {
  OtlpReceiver,
  removeStreams,
  TestDatabase,
  testServiceToken,
  testToken,
} from '@tideline/test-support';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { removeKeys } from '../test/support/stack.ts';
import { PROBE_NODE_FLAGS } from './probe-flags.ts';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 1_000);
const LATENCY_MESSAGES = Number(process.env['BENCH_LATENCY_MESSAGES'] ?? 100);
const LATENCY_PACE_MS = Number(process.env['BENCH_LATENCY_PACE_MS'] ?? 40);
const BURST = Number(process.env['BENCH_BURST'] ?? 200);
const SEED_WEBSITES = 100;
/** Kept-alive HTTP connections per host of the bench's writes (they are sequential, but for the burst's). */
const HTTP_CONNECTIONS = 8;
/**
 * Sockets (per side) connected, subscribed and closed before the first round, so code compiled on
 * first use is no round's memory (nor time): as many as a round connects, by default.
 */
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? CLIENTS);
/** Sockets (per side) connected and closed again at the start of every round, before its memory phase. */
const ROUND_WARMUP = Number(process.env['BENCH_ROUND_WARMUP'] ?? CLIENTS / 5);
const TRACING = process.env['BENCH_TRACING'] === '1';
/**
 * With BENCH_MEMORY_ONLY=1 each round measures only phase 1 (memory per idle subscribed socket),
 * reported as the bench `push-gateway-memory` (so the full run's results file is left alone).
 */
const MEMORY_ONLY = process.env['BENCH_MEMORY_ONLY'] === '1';
/** With BENCH_CPU_PROF_DIR, the gateways and plain servers write a CPU profile there when the run ends. */
const CPU_PROF_DIR = process.env['BENCH_CPU_PROF_DIR'];
const PHASE_TIMEOUT_MS = Number(process.env['BENCH_PHASE_TIMEOUT_MS'] ?? 30_000);
const SETTLE_MS = 2_000;
const NATS_URL = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const id = Math.random().toString(36).slice(2, 10);
const busPrefix = `gwbench${id}`;
/** The traced gateways' bus: the same burst published there reaches only them. */
const tracedBusPrefix = `gwbencht${id}`;

type TidelineSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
interface Child {
  process: ChildProcess;
  port: number;
  url: string;
  /** Every later stdout line goes to these. */
  listeners: ((line: string) => void)[];
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  /** Of heapUsed, compiled code (JIT): no socket's data, but compiled while sockets connect. */
  codeSpace: number;
}

const children: Child[] = [];

/** Starts `entry` (relative to the repository) under the memory probe and waits for its port. */
function spawnChild(
  entry: string,
  env: Record<string, string>,
  portOf: (line: string) => number | undefined,
): Promise<Child> {
  const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
  const profiled = CPU_PROF_DIR !== undefined && !entry.includes('website-api');
  const cpuProf = profiled ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...PROBE_NODE_FLAGS, ...cpuProf, '--import', 'tsx', probe], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      BENCH_ENTRY: fileURLToPath(new URL(entry, `file://${ROOT}`)),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const listeners: ((line: string) => void)[] = [];
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start:\n${lines.join('\n')}`)),
      PHASE_TIMEOUT_MS,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      for (const listener of listeners) listener(line);
      if (lines.length < 50) lines.push(line);
      const port = portOf(line);
      if (port !== undefined) {
        clearTimeout(timer);
        const started = { process: child, port, url: `http://127.0.0.1:${port}`, listeners };
        children.push(started);
        resolve(started);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}:\n${lines.join('\n')}`)));
  });
}

const startedPort = (line: string) => {
  try {
    const entry = JSON.parse(line) as { msg?: string; port?: number };
    return entry.msg === 'started' ? entry.port : undefined;
  } catch {
    return undefined;
  }
};
const plainPort = (line: string) => {
  try {
    return (JSON.parse(line) as { port?: number }).port;
  } catch {
    return undefined;
  }
};

/** SIGTERM, then up to 20 s for the children to exit (a CPU profile is written on exit). */
async function stopGracefully(all: Child[]): Promise<void> {
  await Promise.all(
    all.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.process.exitCode !== null) return resolve();
          const timer = setTimeout(resolve, 20_000);
          child.process.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.process.kill('SIGTERM');
        }),
    ),
  );
}

/** The child's memory after a full GC (asked through the probe's SIGUSR2). */
function memoryOf(child: Child): Promise<Memory> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory report')), 10_000);
    const listener = (line: string) => {
      if (!line.startsWith('{"memory"')) return;
      clearTimeout(timer);
      child.listeners.splice(child.listeners.indexOf(listener), 1);
      resolve((JSON.parse(line) as { memory: Memory }).memory);
    };
    child.listeners.push(listener);
    child.process.kill('SIGUSR2');
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `socket` is connected and holds the websites snapshot it asked for. */
async function subscribedToWebsites(socket: TidelineSocket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.once('connected', () => resolve());
    socket.once('connect_error', reject);
  });
  const ack = await socket.emitWithAck('request:websites', {});
  if (!ack.ok) throw new Error(`request:websites refused: ${ack.code}`);
}

/** A `website.update` envelope with id `eventId` carrying `data`, as the relay publishes it. */
const benchUpdate = (eventId: number, data: unknown) => ({
  eventId,
  topic: 'websites',
  type: 'update',
  occurredAt: new Date().toISOString(),
  schemaVersion: SCHEMA_VERSION,
  data,
});

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

/** The bench's HTTP writes: node:http keep-alive (BenchHttpClient; fetch would add its own CPU to every figure). */
const http = new BenchHttpClient({ maxSockets: HTTP_CONNECTIONS });

function post(url: string, body: unknown, token?: string): Promise<HttpAnswer> {
  return http.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** Connects `count` sockets with at most `batch` handshakes in flight. */
async function connectAll<T>(count: number, batch: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += batch) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => open(i + j)))),
    );
  }
  return out;
}

/** Sum of `tideline_gateway_message_encodings_total{event="websites:initial"}` over `gateways`. */
async function snapshotEncodings(gateways: Child[]): Promise<number> {
  let total = 0;
  for (const gateway of gateways) {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('tideline_gateway_message_encodings_total{') && l.includes('event="websites:initial"'),
      );
    total += line ? Number(line.split(' ').at(-1)) : 0;
  }
  return total;
}

/** Connections a server still holds: a gateway's `tideline_gateway_connected_sockets`, a plain server's count. */
async function socketsHeld(server: Child, kind: 'gateway' | 'plain'): Promise<number> {
  if (kind === 'plain') return Number(await (await fetch(`${server.url}/sockets`)).text());
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tideline_gateway_connected_sockets'));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

/** Waits until none of `servers` holds a connection (the last round's sockets are gone), then settles. */
async function drained(servers: Child[], kind: 'gateway' | 'plain'): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  for (;;) {
    const held = await Promise.all(servers.map((server) => socketsHeld(server, kind)));
    if (held.every((n) => n === 0)) break;
    if (Date.now() > deadline) throw new Error(`${kind} servers still hold ${held.join(', ')} sockets`);
    await sleep(100);
  }
  await sleep(SETTLE_MS);
}

/** LATENCY_MESSAGES single-row INSERT commits, `paceMs` apart; their latencies in ms. */
async function insertLatencies(client: pg.Client, paceMs: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_MESSAGES; i++) {
    const t0 = performance.now();
    await client.query('INSERT INTO bench_scratch (v) VALUES ($1)', [`floor-${i}`]);
    latencies.push(performance.now() - t0);
    if (paceMs > 0) await sleep(paceMs);
  }
  return latencies;
}

function defineFigures(run: BenchRun): void {
  run.define(
    {
      id: 'latency.p50',
      label: `HTTP write -> client p50, 2 gateways, ${CLIENTS} clients`,
      unit: 'ms',
      better: 'lower',
      baseline: 'plain Socket.IO: HTTP POST -> io.to(room).emit -> Redis adapter -> client',
      // No goal here: issue 17's latency goal is judged against plain Socket.IO plus the one commit
      // (latency.durable.*), because plain Socket.IO persists nothing (README, Benchmarks).
    },
    {
      id: 'latency.p99',
      label: `HTTP write -> client p99, 2 gateways, ${CLIENTS} clients`,
      unit: 'ms',
      better: 'lower',
      baseline: 'plain Socket.IO: HTTP POST -> io.to(room).emit -> Redis adapter -> client',
    },
    {
      id: 'latency.bus.p50',
      label: `bus publish -> client p50 (the gateways' own share), ${CLIENTS} clients`,
      unit: 'ms',
      better: 'lower',
      baseline: 'plain Socket.IO: HTTP POST -> io.to(room).emit -> Redis adapter -> client',
      goal: 1.15,
      goalNote: "issue 17's latency goal applied to the part the gateway owns",
    },
    {
      id: 'latency.bus.p99',
      label: `bus publish -> client p99 (the gateways' own share), ${CLIENTS} clients`,
      unit: 'ms',
      better: 'lower',
      baseline: 'plain Socket.IO: HTTP POST -> io.to(room).emit -> Redis adapter -> client',
      goal: 1.2,
      goalNote: "issue 17's latency goal applied to the part the gateway owns",
    },
    {
      id: 'latency.write.p50',
      label: 'of which the HTTP write (website-api commit) p50',
      unit: 'ms',
      better: 'lower',
    },
    ...([0.5, 0.99] as const).map((q) => ({
      id: `latency.durable.p${q * 100}`,
      label: `HTTP write -> client p${q * 100}, 2 gateways, ${CLIENTS} clients, against plain Socket.IO plus one commit`,
      unit: 'ms',
      better: 'lower' as const,
      baseline: `plain Socket.IO p${q * 100} + the paced pg INSERT commit p${q * 100} (the one commit a durable write cannot skip)`,
      goal: q === 0.5 ? 1.15 : 1.2,
      goalNote:
        "issue 17's latency goal, with the one commit a durable write cannot skip in the baseline: plain Socket.IO persists nothing",
    })),
    {
      id: 'latency.floor.insert.p50',
      label: `pg single-row INSERT commit p50, paced ${LATENCY_PACE_MS} ms apart as the writes are`,
      unit: 'ms',
      better: 'lower',
      baseline: 'the same INSERTs back to back',
    },
    {
      id: 'fanout',
      label: `fan-out burst, ${BURST} msgs x ${CLIENTS} clients`,
      unit: 'deliveries/s',
      better: 'higher',
      baseline: 'plain Socket.IO io.to(room).emit of the same messages',
      goal: 0.95,
      goalNote: 'issue 17',
    },
    {
      id: 'memory.socket',
      label: 'heap+external per idle subscribed socket (one server, after GC)',
      unit: 'KiB',
      better: 'lower',
      baseline: 'plain Socket.IO socket in one room',
      goal: 1.2,
      goalNote: 'issue 17',
    },
    {
      id: 'storm.ms',
      label: `resume storm: ${CLIENTS} sockets ask for the websites snapshot at once, until all have it`,
      unit: 'ms',
      better: 'lower',
      baseline: 'plain Socket.IO: socket.emit of the same snapshot to each socket',
    },
    {
      id: 'storm.encodings',
      label: 'resume storm: snapshot serialisations per gateway',
      unit: 'serialisations',
      better: 'lower',
      goal: 1,
      goalNote: `issue 17: one per snapshot version, not one per socket (${CLIENTS / 2} before)`,
    },
  );
  if (TRACING) {
    run.define({
      id: 'fanout.traced',
      label: 'fan-out burst, tracing on (100 % sampled)',
      unit: 'deliveries/s',
      better: 'higher',
      baseline: 'the same burst on the untraced gateway pair',
    });
  }
}

async function main(): Promise<void> {
  const run = new BenchRun({
    bench: MEMORY_ONLY ? 'push-gateway-memory' : 'push-gateway',
    description: `HTTP write -> client latency, fan-out, memory per idle socket and a resume storm: 2 gateways, ${CLIENTS} clients, against plain Socket.IO with the same Redis adapter`,
  });
  defineFigures(run);
  const database = await TestDatabase.create('tideline_gwbench');
  const floorDb = new pg.Client({ connectionString: database.url });
  await floorDb.connect();
  await floorDb.query('CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, v text NOT NULL)');
  const writer = testToken('bench-writer', ['websites:read', 'websites:write']);
  try {
    // ---- processes ------------------------------------------------------------------------------
    const common = {
      TIDELINE_ENV: 'test',
      TIDELINE_LOG_LEVEL: 'info',
      TIDELINE_NATS_URL: NATS_URL,
      TIDELINE_REDIS_URL: REDIS_URL,
      TIDELINE_BUS_PREFIX: busPrefix,
    };
    const api = await spawnChild(
      'apps/website-api/src/main.ts',
      {
        ...common,
        TIDELINE_WEBSITE_API_PORT: '0',
        TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
        TIDELINE_DATABASE_URL: database.url,
        TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: '100',
        // The benchmark measures delivery, not website-api's per-subject write limit.
        TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
        TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `${busPrefix}:writes:`,
      },
      startedPort,
    );
    const gatewayEnv = {
      ...common,
      TIDELINE_GATEWAY_PORT: '0',
      TIDELINE_GATEWAY_HOST: '127.0.0.1',
      TIDELINE_GATEWAY_WEBSITE_API_URL: api.url,
      TIDELINE_GATEWAY_ADAPTER_KEY: `bench-${id}`,
      TIDELINE_STATEFUL_NAMESPACE: `gwbench-${id}`,
      TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: '1000',
      // The storm asks every socket for a snapshot again each round: no per-socket snapshot limit.
      TIDELINE_GATEWAY_RESNAPSHOT_INTERVAL_MS: '0',
    };
    const gateways = await Promise.all([
      spawnChild('apps/push-gateway/src/main.ts', gatewayEnv, startedPort),
      spawnChild('apps/push-gateway/src/main.ts', gatewayEnv, startedPort),
    ]);
    const plainEnv = { BENCH_REDIS_URL: REDIS_URL, BENCH_ADAPTER_KEY: `bench-plain-${id}` };
    const plains = await Promise.all([
      spawnChild('apps/push-gateway/bench/plain-server.ts', plainEnv, plainPort),
      spawnChild('apps/push-gateway/bench/plain-server.ts', plainEnv, plainPort),
    ]);

    const receiver = TRACING ? await OtlpReceiver.start() : undefined;
    const tracedGateways = receiver
      ? await Promise.all(
          [1, 2].map(() =>
            spawnChild(
              'apps/push-gateway/src/main.ts',
              {
                ...gatewayEnv,
                TIDELINE_BUS_PREFIX: tracedBusPrefix,
                TIDELINE_GATEWAY_ADAPTER_KEY: `bench-traced-${id}`,
                TIDELINE_STATEFUL_NAMESPACE: `gwbench-${id}-traced`,
                TIDELINE_OTEL_ENABLED: 'true',
                TIDELINE_OTEL_SAMPLER_RATIO: '1',
                TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
              },
              startedPort,
            ),
          ),
        )
      : [];

    const lineGroup = JSON.parse(
      (
        await post(
          `${api.url}/api/v1/line-groups/create`,
          { name: `bench-${id}`, cname: `bench-${id}.cdn.example.net` },
          writer,
        )
      ).body,
    ) as { data: { id: number } };
    let domainSeq = 0;
    const nextDomain = () => `b${++domainSeq}.w${id}.example.com`;
    const create = async (domain = nextDomain()): Promise<WebsiteItem> => {
      const answer = await post(
        `${api.url}/api/v1/websites/create`,
        { domains: [domain], line_group_id: lineGroup.data.id },
        writer,
      );
      if (answer.status !== 201) throw new Error(`create answered ${answer.status}: ${answer.body}`);
      return (JSON.parse(answer.body) as { data: WebsiteItem }).data;
    };
    for (let i = 0; i < SEED_WEBSITES; i++) await create();
    // Statistics, as autovacuum keeps them in a deployment (it is off on this machine's PostgreSQL):
    // the writes are planned on the tables as they are, not as they were when empty.
    await floorDb.query('VACUUM (ANALYZE)');
    await sleep(SETTLE_MS);

    const openBus = async (prefix: string) => {
      const opened = createEventBus({
        config: loadConfig(busSettings, { env: { ...common, TIDELINE_BUS_PREFIX: prefix } }),
        clientName: 'gateway-bench',
      });
      await opened.start();
      return opened;
    };
    const bus = await openBus(busPrefix);
    const tracedBus = tracedGateways.length > 0 ? await openBus(tracedBusPrefix) : undefined;
    const serviceToken = testServiceToken('service:bench');
    const websitesHead = async (): Promise<WebsitesInitial> => {
      const answer = (await (
        await fetch(`${api.url}/internal/v1/websites/snapshot`, {
          headers: { authorization: `Bearer ${serviceToken}` },
        })
      ).json()) as WebsitesInitial;
      if (!Number.isInteger(answer.lastEventId))
        throw new Error(`websites snapshot refused: ${JSON.stringify(answer).slice(0, 200)}`);
      return answer;
    };
    // A burst's events take the ids following the log's head (its clients are there), under msgIds
    // of their own, so the relay's real events with the same ids later are not taken for duplicates
    // (the next round's clients start from the log's snapshot again).
    let nextBurstId = 0;
    let nextTracedBurstId = 0;
    let plainId = 1_000_000;
    let violations = 0;

    // Warm-up: code compiled on the first connections is no socket's memory (nor a round's time).
    const warmUp = async (count: number, tag: string) => {
      const warm = await connectAll(count, 100, async (i) => {
        const socket: TidelineSocket = io(gateways[i % 2]!.url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          auth: { token: testToken(`bench-warmup-${tag}-${i}`, ['websites:read']) },
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('connected', () => resolve());
          socket.once('connect_error', reject);
        });
        await socket.emitWithAck('request:websites', {});
        const other = io(plains[i % 2]!.url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
        });
        await new Promise<void>((resolve, reject) => {
          other.once('connect', () => resolve());
          other.once('connect_error', reject);
        });
        return [socket, other];
      });
      for (const socket of warm.flat()) socket.disconnect();
      await sleep(SETTLE_MS);
    };
    await warmUp(WARMUP, 'start');

    for (const round of run.rounds()) {
      // The phases of the round before leave code deoptimised: connecting again recompiles it, and
      // that is no socket's memory either (both sides alike).
      await warmUp(ROUND_WARMUP, `r${round}`);
      // ---- 1. memory: Tideline sockets, then plain ones (one server of each measured) ----------
      const sendTimes = new Map<string, number>();
      const tidelineLatencies: number[] = [];
      const busSendTimes = new Map<number, number>();
      const busLatencies: number[] = [];
      let tidelineReceived = 0;
      let initialsReceived = 0;
      await drained(gateways, 'gateway');
      const gatewayBefore = await memoryOf(gateways[0]!);
      const tideline = await connectAll(CLIENTS, 100, async (i) => {
        const socket: TidelineSocket = io(gateways[i % 2]!.url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          auth: { token: testToken(`bench-${round}-${i}`, ['websites:read']) },
        });
        let last = 0;
        socket.on('websites:initial', (initial) => {
          last = initial.lastEventId;
          initialsReceived++;
        });
        socket.on('websites:update', (update: WebsitesUpdate) => {
          const now = performance.now();
          if (update.eventId <= last) violations++;
          last = update.eventId;
          tidelineReceived++;
          const sentAt = update.type === 'add' ? sendTimes.get(update.data.primary_domain) : undefined;
          if (sentAt !== undefined) tidelineLatencies.push(now - sentAt);
          const publishedAt = busSendTimes.get(update.eventId);
          if (publishedAt !== undefined) busLatencies.push(now - publishedAt);
        });
        await subscribedToWebsites(socket);
        return socket;
      });
      await sleep(SETTLE_MS);
      const gatewayAfter = await memoryOf(gateways[0]!);

      await drained(plains, 'plain');
      const plainBefore = await memoryOf(plains[0]!);
      const plainLatencies: number[] = [];
      const plainSendTimes = new Map<number, number>();
      let plainReceived = 0;
      let plainInitials = 0;
      const plain = await connectAll(CLIENTS, 100, async (i) => {
        const socket = io(plains[i % 2]!.url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
        });
        socket.on('websites:update', (update: WebsitesUpdate) => {
          const now = performance.now();
          plainReceived++;
          const sentAt = plainSendTimes.get(update.eventId);
          if (sentAt !== undefined) plainLatencies.push(now - sentAt);
        });
        socket.on('websites:initial', () => {
          plainInitials++;
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        return socket;
      });
      await sleep(SETTLE_MS);
      const plainAfter = await memoryOf(plains[0]!);
      const perSocketKiB = (after: Memory, before: Memory) =>
        (after.heapUsed + after.external - before.heapUsed - before.external) / (CLIENTS / 2) / 1024;
      run.record(
        'memory.socket',
        perSocketKiB(gatewayAfter, gatewayBefore),
        perSocketKiB(plainAfter, plainBefore),
      );
      const parts = (after: Memory, before: Memory) => {
        const kib = (bytes: number) => (bytes / (CLIENTS / 2) / 1024).toFixed(2);
        return `heap ${kib(after.heapUsed - before.heapUsed)} (code ${kib(after.codeSpace - before.codeSpace)}) + external ${kib(after.external - before.external)}`;
      };
      run.note(
        `round ${round}, KiB per socket: Tideline ${parts(gatewayAfter, gatewayBefore)}; plain ${parts(plainAfter, plainBefore)}`,
      );
      if (MEMORY_ONLY) {
        for (const socket of [...tideline, ...plain]) socket.disconnect();
        await sleep(SETTLE_MS);
        continue;
      }

      let tracedReceived = 0;
      const traced = await connectAll(tracedGateways.length > 0 ? CLIENTS : 0, 100, async (i) => {
        const socket: TidelineSocket = io(tracedGateways[i % 2]!.url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          auth: { token: testToken(`bench-traced-${round}-${i}`, ['websites:read']) },
        });
        socket.on('websites:update', () => {
          tracedReceived++;
        });
        await subscribedToWebsites(socket);
        return socket;
      });
      if (traced.length > 0) await sleep(SETTLE_MS);
      // The traced pair reads a bus of its own: its clients stay at the snapshot they were sent.
      if (traced.length > 0) nextTracedBurstId = (await websitesHead()).lastEventId + 1;

      // ---- 2. latency, paced: Tideline, then plain ----------------------------------------------
      const messages: WebsitesUpdate[] = [];
      const httpLatencies: number[] = [];
      for (let i = 0; i < LATENCY_MESSAGES; i++) {
        const domain = nextDomain();
        const t0 = performance.now();
        sendTimes.set(domain, t0);
        const item = await create(domain);
        httpLatencies.push(performance.now() - t0);
        messages.push({ eventId: 0, type: 'add', data: item });
        await sleep(LATENCY_PACE_MS);
      }
      await until(() => tidelineLatencies.length >= LATENCY_MESSAGES * CLIENTS, 'Tideline latency phase');
      for (const [i, message] of messages.entries()) {
        const eventId = plainId++;
        const t0 = performance.now();
        plainSendTimes.set(eventId, t0);
        await post(`${plains[i % 2]!.url}/broadcast`, {
          event: 'websites:update',
          payloads: [{ ...message, eventId }],
        });
        await sleep(LATENCY_PACE_MS);
      }
      await until(() => plainLatencies.length >= LATENCY_MESSAGES * CLIENTS, 'plain latency phase');
      run.record('latency.p50', quantile(tidelineLatencies, 0.5), quantile(plainLatencies, 0.5));
      run.record('latency.p99', quantile(tidelineLatencies, 0.99), quantile(plainLatencies, 0.99));
      run.record('latency.write.p50', quantile(httpLatencies, 0.5));
      // What pacing alone costs one database round trip on this machine: every hop of a paced
      // write wakes an idle process, which the back-to-back writes of website-api's bench never do.
      const pacedInserts = await insertLatencies(floorDb, LATENCY_PACE_MS);
      run.record(
        'latency.floor.insert.p50',
        quantile(pacedInserts, 0.5),
        quantile(await insertLatencies(floorDb, 0), 0.5),
      );
      // A durable write cannot deliver before it committed once: plain Socket.IO persists nothing.
      for (const q of [0.5, 0.99] as const)
        run.record(
          `latency.durable.p${q * 100}`,
          quantile(tidelineLatencies, q),
          quantile(plainLatencies, q) + quantile(pacedInserts, q),
        );

      // ---- 2b. latency of the gateways alone: events published on the bus as the relay does -----
      // Their ids follow the log's head (where the clients are); the burst continues after them.
      const sample = messages[0]!.data;
      const head = (await websitesHead()).lastEventId;
      for (let i = 0; i < LATENCY_MESSAGES; i++) {
        const eventId = head + 1 + i;
        busSendTimes.set(eventId, performance.now());
        await bus.publish(subjects.website('update'), benchUpdate(eventId, sample), {
          msgId: `bench-${round}-latency-${eventId}`,
          key: 'websites',
        });
        await sleep(LATENCY_PACE_MS);
      }
      await until(() => busLatencies.length >= LATENCY_MESSAGES * CLIENTS, 'Tideline bus latency phase');
      run.record('latency.bus.p50', quantile(busLatencies, 0.5), quantile(plainLatencies, 0.5));
      run.record('latency.bus.p99', quantile(busLatencies, 0.99), quantile(plainLatencies, 0.99));

      // ---- 3. fan-out burst: Tideline, then plain -----------------------------------------------
      nextBurstId = head + LATENCY_MESSAGES + 1;
      /** BURST events on `target`'s bus; resolves with the ms until every client of its pair had them all. */
      const tidelineBurst = async (target: 'plain-gateways' | 'traced-gateways'): Promise<number> => {
        const onTraced = target === 'traced-gateways';
        const base = onTraced ? tracedReceived : tidelineReceived;
        const first = onTraced ? nextTracedBurstId : nextBurstId;
        if (onTraced) nextTracedBurstId += BURST;
        else nextBurstId += BURST;
        const t = performance.now();
        await Promise.all(
          Array.from({ length: BURST }, (_, i) => {
            const eventId = first + i;
            return (onTraced ? tracedBus! : bus).publish(
              subjects.website('update'),
              benchUpdate(eventId, sample),
              { msgId: `bench-${round}-${onTraced ? 'traced' : 'untraced'}-${eventId}`, key: 'websites' },
            );
          }),
        );
        await until(
          () => (onTraced ? tracedReceived : tidelineReceived) - base >= BURST * CLIENTS,
          `${target} burst`,
        );
        return performance.now() - t;
      };
      const plainBurst = async (): Promise<number> => {
        const base = plainReceived;
        const burstPayloads = Array.from({ length: BURST }, () => ({
          eventId: plainId++,
          type: 'update',
          data: sample,
        }));
        const t = performance.now();
        await post(`${plains[0]!.url}/broadcast`, { event: 'websites:update', payloads: burstPayloads });
        await until(() => plainReceived - base >= BURST * CLIENTS, 'plain burst');
        return performance.now() - t;
      };
      const rate = (ms: number) => (BURST * CLIENTS) / (ms / 1000);
      const tidelineBurstMs = await tidelineBurst('plain-gateways');
      const plainBurstMs = await plainBurst();
      run.record('fanout', rate(tidelineBurstMs), rate(plainBurstMs));
      if (tracedBus) {
        const on = await tidelineBurst('traced-gateways');
        const off = await tidelineBurst('plain-gateways');
        run.record('fanout.traced', rate(on), rate(off));
      }

      // ---- 4. resume storm: every socket asks for a snapshot at once ------------------------------
      await sleep(SETTLE_MS);
      const encodingsBefore = await snapshotEncodings(gateways);
      const initialsBase = initialsReceived;
      let t = performance.now();
      const acks = await Promise.all(tideline.map((socket) => socket.emitWithAck('request:websites', {})));
      await until(() => initialsReceived - initialsBase >= CLIENTS, 'Tideline storm');
      const tidelineStormMs = performance.now() - t;
      const refused = acks.filter((ack) => !ack.ok);
      if (refused.length > 0)
        throw new Error(`storm: ${refused.length} refused, e.g. ${JSON.stringify(refused[0])}`);
      const encodings = (await snapshotEncodings(gateways)) - encodingsBefore;
      const snapshot = await websitesHead();
      await Promise.all(plains.map((p) => post(`${p.url}/snapshot`, snapshot)));
      t = performance.now();
      await Promise.all(plain.map((socket) => socket.emitWithAck('snapshot')));
      await until(() => plainInitials >= CLIENTS, 'plain storm');
      run.record('storm.ms', tidelineStormMs, performance.now() - t);
      run.record('storm.encodings', encodings / gateways.length);

      for (const socket of [...tideline, ...plain, ...traced]) socket.disconnect();
      await sleep(SETTLE_MS);
    }
    await bus.drain();
    await tracedBus?.drain();
    run.note(
      `${CLIENTS} clients per side, ${LATENCY_MESSAGES} latency messages paced ${LATENCY_PACE_MS} ms, bursts of ${BURST}, ${SEED_WEBSITES}+ websites in each snapshot`,
    );
    run.note(`duplicate or out-of-order deliveries seen by Tideline clients: ${violations}`);
    if (receiver) run.note(`${receiver.spans().length} spans exported by the traced gateways`);
    await receiver?.close();
    await run.finish();
    if (violations > 0) throw new Error(`${violations} duplicate or out-of-order deliveries`);
  } finally {
    if (CPU_PROF_DIR) await stopGracefully(children);
    for (const child of children) child.process.kill('SIGKILL');
    await floorDb.end();
    await database[Symbol.asyncDispose]();
    await removeStreams(busPrefix);
    if (TRACING) await removeStreams(tracedBusPrefix);
    await removeKeys(`*gwbench-${id}*`);
  }
}

const timeout = setTimeout(
  () => {
    process.stderr.write('benchmark exceeded its time bound\n');
    for (const child of children) child.process.kill('SIGKILL');
    process.exit(2);
  },
  (TRACING ? 240_000 : 180_000) * Number(process.env['TIDELINE_BENCH_ROUNDS'] ?? 3) + 120_000,
);
timeout.unref();
await main();
process.exit(0);

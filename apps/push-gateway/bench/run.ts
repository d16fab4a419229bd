/**
 * push-gateway benchmark (`npm run bench -w @tideline/push-gateway`), bounded to about a minute.
 *
 * Topology, all on this machine: website-api (child process, its own PostgreSQL database),
 * two push-gateways (child processes, shared NATS and Redis, private prefixes), two plain
 * Socket.IO servers with the same Redis adapter as the baseline (child processes), and CLIENTS
 * clients in this process, each holding one socket to a gateway and one to a plain server
 * (half on each server). Measured in the same run:
 *   1. end-to-end latency, HTTP write → client: Tideline = POST /api/v1/websites/create to
 *      website-api → commit → relay → NATS → gateway → socket; baseline = POST of the same message
 *      to a plain server → io.to(room).emit → Redis adapter → socket.
 *   2. fan-out throughput: a burst of BURST messages to every client (Tideline: events published
 *      on the bus as the relay does; baseline: the same messages emitted by a plain server).
 *   3. memory per idle connection (RSS growth of one server per connected, subscribed socket).
 * Latency is from just before the HTTP request is sent to the client's handler; all clients live
 * in one process, so the figures include that process's queueing, equally for both.
 *
 * With BENCH_TRACING=1 (`npm run bench:gateway:tracing`) the run also starts a second pair of
 * gateways with OpenTelemetry on at 100 % sampling (exporting over OTLP/HTTP to a receiver in
 * this process, on a bus prefix of their own) and as many clients on them, and measures the same
 * fan-out burst BENCH_TRACING_ROUNDS times each against the untraced pair and the plain servers,
 * in turns, printing every round and the traced/untraced throughput ratio.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEventBus } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';
import {
  type ClientToServerEvents,
  SCHEMA_VERSION,
  type ServerToClientEvents,
  subjects,
  type WebsiteItem,
  type WebsitesUpdate,
} from '@tideline/contracts';
import {
  OtlpReceiver,
  removeStreams,
  TestDatabase,
  testServiceToken,
  testToken,
} from '@tideline/test-support';
import { io, type Socket } from 'socket.io-client';
import { removeKeys } from '../test/support/stack.ts';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 1_000);
const LATENCY_MESSAGES = Number(process.env['BENCH_LATENCY_MESSAGES'] ?? 200);
const LATENCY_PACE_MS = Number(process.env['BENCH_LATENCY_PACE_MS'] ?? 40);
const BURST = Number(process.env['BENCH_BURST'] ?? 200);
const SEED_WEBSITES = 100;
const TRACING = process.env['BENCH_TRACING'] === '1';
const TRACING_ROUNDS = Number(process.env['BENCH_TRACING_ROUNDS'] ?? 3);
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
}

const children: Child[] = [];

/** Starts `entry` (relative to the repository) under the memory probe and waits for its port. */
function spawnChild(
  entry: string,
  env: Record<string, string>,
  portOf: (line: string) => number | undefined,
): Promise<Child> {
  const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', probe], {
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

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (ms: number) => ms.toFixed(1);

async function post(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
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

async function main(): Promise<void> {
  const started = performance.now();
  const database = await TestDatabase.create('tideline_gwbench');
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

    const lineGroup = (await (
      await post(
        `${api.url}/api/v1/line-groups/create`,
        { name: `bench-${id}`, cname: `bench-${id}.cdn.example.net` },
        writer,
      )
    ).json()) as { data: { id: number } };
    let domainSeq = 0;
    const nextDomain = () => `b${++domainSeq}.w${id}.example.com`;
    const create = async (domain = nextDomain()): Promise<WebsiteItem> => {
      const answer = await post(
        `${api.url}/api/v1/websites/create`,
        { domains: [domain], line_group_id: lineGroup.data.id },
        writer,
      );
      if (answer.status !== 201) throw new Error(`create answered ${answer.status}: ${await answer.text()}`);
      return ((await answer.json()) as { data: WebsiteItem }).data;
    };
    for (let i = 0; i < SEED_WEBSITES; i++) await create();
    await sleep(SETTLE_MS);

    // ---- clients: Tideline sockets (memory of gateway 0 measured around its share) -------------
    const gatewayBefore = await memoryOf(gateways[0]!);
    /** Send time by primary domain: known before the request, so an update arriving before the HTTP answer still counts. */
    const sendTimes = new Map<string, number>();
    const tidelineLatencies: number[] = [];
    let tidelineReceived = 0;
    let violations = 0;
    const tideline = await connectAll(CLIENTS, 100, async (i) => {
      const socket: TidelineSocket = io(gateways[i % 2]!.url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth: { token: testToken(`bench-${i}`, ['websites:read']) },
      });
      let last = 0;
      socket.on('websites:update', (update: WebsitesUpdate) => {
        const now = performance.now();
        if (update.eventId <= last) violations++;
        last = update.eventId;
        tidelineReceived++;
        const sentAt = update.type === 'add' ? sendTimes.get(update.data.primary_domain) : undefined;
        if (sentAt !== undefined) tidelineLatencies.push(now - sentAt);
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connected', () => resolve());
        socket.once('connect_error', reject);
      });
      const ack = await socket.emitWithAck('request:websites', {});
      if (!ack.ok) throw new Error(`request:websites refused: ${ack.code}`);
      return socket;
    });
    await sleep(SETTLE_MS);
    const gatewayAfter = await memoryOf(gateways[0]!);

    const plainBefore = await memoryOf(plains[0]!);
    const plainLatencies: number[] = [];
    const plainSendTimes = new Map<number, number>();
    let plainReceived = 0;
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
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return socket;
    });
    await sleep(SETTLE_MS);
    const plainAfter = await memoryOf(plains[0]!);

    let tracedReceived = 0;
    const traced = await connectAll(tracedGateways.length > 0 ? CLIENTS : 0, 100, async (i) => {
      const socket: TidelineSocket = io(tracedGateways[i % 2]!.url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth: { token: testToken(`bench-traced-${i}`, ['websites:read']) },
      });
      socket.on('websites:update', () => {
        tracedReceived++;
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connected', () => resolve());
        socket.once('connect_error', reject);
      });
      const ack = await socket.emitWithAck('request:websites', {});
      if (!ack.ok) throw new Error(`request:websites refused: ${ack.code}`);
      return socket;
    });
    if (traced.length > 0) await sleep(SETTLE_MS);

    // ---- 1. latency, paced --------------------------------------------------------------------
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
      const eventId = 1_000_000 + i;
      const t0 = performance.now();
      plainSendTimes.set(eventId, t0);
      await post(`${plains[i % 2]!.url}/broadcast`, {
        event: 'websites:update',
        payloads: [{ ...message, eventId }],
      });
      await sleep(LATENCY_PACE_MS);
    }
    await until(() => plainLatencies.length >= LATENCY_MESSAGES * CLIENTS, 'plain latency phase');

    // ---- 2. fan-out burst -----------------------------------------------------------------------
    const snapshot = (await (
      await fetch(`${api.url}/internal/v1/websites/snapshot`, {
        headers: { authorization: `Bearer ${testServiceToken('service:bench')}` },
      })
    ).json()) as { lastEventId: number };
    if (!Number.isInteger(snapshot.lastEventId))
      throw new Error(`websites snapshot refused: ${JSON.stringify(snapshot).slice(0, 200)}`);
    const openBus = async (prefix: string) => {
      const opened = createEventBus({
        config: loadConfig(busSettings, { env: { ...common, TIDELINE_BUS_PREFIX: prefix } }),
        clientName: 'gateway-bench',
      });
      await opened.start();
      return opened;
    };
    const bus = await openBus(busPrefix);
    const tracedBus = traced.length > 0 ? await openBus(tracedBusPrefix) : undefined;
    const sample = messages[0]!.data;
    let nextBurstId = snapshot.lastEventId + 1;
    let nextTracedBurstId = snapshot.lastEventId + 1;
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
            {
              eventId,
              topic: 'websites',
              type: 'update',
              occurredAt: new Date().toISOString(),
              schemaVersion: SCHEMA_VERSION,
              data: sample,
            },
            { msgId: String(eventId), key: 'websites' },
          );
        }),
      );
      await until(
        () => (onTraced ? tracedReceived : tidelineReceived) - base >= BURST * CLIENTS,
        `${target} burst`,
      );
      return performance.now() - t;
    };
    let plainBurstId = 2_000_000;
    const plainBurst = async (): Promise<number> => {
      const base = plainReceived;
      const burstPayloads = Array.from({ length: BURST }, () => ({
        eventId: plainBurstId++,
        type: 'update',
        data: sample,
      }));
      const t = performance.now();
      await post(`${plains[0]!.url}/broadcast`, { event: 'websites:update', payloads: burstPayloads });
      await until(() => plainReceived - base >= BURST * CLIENTS, 'plain burst');
      return performance.now() - t;
    };
    const tidelineBurstMs = await tidelineBurst('plain-gateways');
    const plainBurstMs = await plainBurst();
    const tracingRounds: { off: number; on: number; plain: number }[] = [];
    if (tracedBus) {
      // Turns within each round, so drift of a busy machine hits both sides alike.
      for (let round = 0; round < TRACING_ROUNDS; round++) {
        const on = await tidelineBurst('traced-gateways');
        const off = await tidelineBurst('plain-gateways');
        const plainMs = await plainBurst();
        tracingRounds.push({ off, on, plain: plainMs });
        await sleep(SETTLE_MS);
      }
    }
    await bus.drain();
    await tracedBus?.drain();

    // ---- report ---------------------------------------------------------------------------------
    const sortedT = [...tidelineLatencies].sort((a, b) => a - b);
    const sortedP = [...plainLatencies].sort((a, b) => a - b);
    const sortedH = [...httpLatencies].sort((a, b) => a - b);
    const perConnection = (after: Memory, before: Memory, n: number) => {
      const kib = (bytes: number) => (bytes / n / 1024).toFixed(1);
      return `${kib(after.heapUsed + after.external - before.heapUsed - before.external)} KiB heap+external, ${kib(after.rss - before.rss)} KiB RSS`;
    };
    const rows = [
      ['', 'Tideline (2 gateways)', 'plain Socket.IO (2 servers)'],
      [
        `latency p50 / p99, HTTP write -> client (${LATENCY_MESSAGES} msgs x ${CLIENTS} clients)`,
        `${fmt(percentile(sortedT, 50))} / ${fmt(percentile(sortedT, 99))} ms`,
        `${fmt(percentile(sortedP, 50))} / ${fmt(percentile(sortedP, 99))} ms`,
      ],
      [
        '  of which the HTTP write (commit) p50 / p99',
        `${fmt(percentile(sortedH, 50))} / ${fmt(percentile(sortedH, 99))} ms`,
        '-',
      ],
      [
        `fan-out burst (${BURST} msgs x ${CLIENTS} clients)`,
        `${Math.round((BURST * CLIENTS) / (tidelineBurstMs / 1000))} deliveries/s (${Math.round(tidelineBurstMs)} ms)`,
        `${Math.round((BURST * CLIENTS) / (plainBurstMs / 1000))} deliveries/s (${Math.round(plainBurstMs)} ms)`,
      ],
      [
        'memory per idle connection (one server, after GC)',
        perConnection(gatewayAfter, gatewayBefore, CLIENTS / 2),
        perConnection(plainAfter, plainBefore, CLIENTS / 2),
      ],
      ['duplicate or out-of-order deliveries', String(violations), 'not checked (no ids)'],
    ];
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    process.stdout.write(
      `\npush-gateway benchmark: ${CLIENTS} clients, 2 servers of each kind, one run (${Math.round((performance.now() - started) / 1000)} s)\n`,
    );
    for (const row of rows)
      process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  |  ')}\n`);
    if (tracingRounds.length > 0) {
      const rate = (ms: number) => (BURST * CLIENTS) / (ms / 1000);
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const tracingRows = [
        ['round', 'tracing off (2 gateways)', 'tracing on, 100 % sampled', 'on / off', 'plain Socket.IO'],
        ...tracingRounds.map((r, i) => [
          String(i + 1),
          `${Math.round(rate(r.off))} deliveries/s`,
          `${Math.round(rate(r.on))} deliveries/s`,
          `x${(rate(r.on) / rate(r.off)).toFixed(3)}`,
          `${Math.round(rate(r.plain))} deliveries/s`,
        ]),
        [
          'median',
          `${Math.round(median(tracingRounds.map((r) => rate(r.off))))} deliveries/s`,
          `${Math.round(median(tracingRounds.map((r) => rate(r.on))))} deliveries/s`,
          `x${median(tracingRounds.map((r) => rate(r.on) / rate(r.off))).toFixed(3)}`,
          `${Math.round(median(tracingRounds.map((r) => rate(r.plain))))} deliveries/s`,
        ],
      ];
      const tw = [0, 1, 2, 3, 4].map((c) => Math.max(...tracingRows.map((r) => r[c]!.length)));
      process.stdout.write(
        `\ntracing overhead: fan-out burst (${BURST} msgs x ${CLIENTS} clients), ${tracingRounds.length} rounds; ${receiver!.spans().length} spans exported by the traced gateways\n`,
      );
      for (const row of tracingRows)
        process.stdout.write(`${row.map((cell, c) => cell.padEnd(tw[c]!)).join('  |  ')}\n`);
    }
    for (const socket of [...tideline, ...plain, ...traced]) socket.disconnect();
    await receiver?.close();
  } finally {
    for (const child of children) child.process.kill('SIGKILL');
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
  TRACING ? 150_000 + TRACING_ROUNDS * 60_000 : 150_000,
);
timeout.unref();
await main();
process.exit(0);

/**
 * Soak benchmark (`npm run soak`; not part of `npm test`). Settings: TIDELINE_SOAK_* (README,
 * configuration reference, "soak benchmark").
 *
 * One real push-gateway process and one website-api process (its own PostgreSQL database, shared
 * NATS and Redis under private prefixes); TIDELINE_SOAK_SOCKETS idle sockets in this process, each
 * with its own user, subscribed to websites (snapshot, then live). They are held for
 * TIDELINE_SOAK_DURATION_SECONDS while one website is updated through website-api every
 * TIDELINE_SOAK_WRITE_INTERVAL_MS (each update reaches every socket). Every
 * TIDELINE_SOAK_SAMPLE_INTERVAL_MS the gateway is made to collect garbage (it runs under
 * bench/memory-probe.ts with --expose-gc, which reports the heap in use right after) and its RSS
 * (and heap, printed alongside) are read from its /metrics
 * (`tideline_process_resident_memory_bytes` / `tideline_nodejs_heap_size_used_bytes`, or the
 * unprefixed names) and printed. Then the least-squares slope of RSS (and heap) over the samples
 * after TIDELINE_SOAK_WARMUP_SECONDS is printed in bytes per minute per socket; the run fails (exit
 * 1) when the heap slope is above TIDELINE_SOAK_MAX_HEAP_SLOPE_BYTES_PER_MINUTE_PER_SOCKET or the
 * RSS slope above TIDELINE_SOAK_MAX_RSS_SLOPE_BYTES_PER_MINUTE_PER_SOCKET, or when any socket was
 * dropped or missed updates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig, soakSettings } from '@tideline/config';
import type { ClientToServerEvents, ServerToClientEvents, WebsitesUpdate } from '@tideline/contracts';
import { removeStreams, TestDatabase, testToken } from '@tideline/test-support';
import { io, type Socket } from 'socket.io-client';
import { removeKeys } from '../test/support/stack.ts';
import { leastSquaresSlope } from './slope.ts';

const settings = loadConfig(soakSettings, { env: process.env });
const NATS_URL = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Handshakes in flight at once while connecting. */
const CONNECT_BATCH = 100;
const START_TIMEOUT_MS = 60_000;
const GC_TIMEOUT_MS = 30_000;
/** The last write must have reached every socket by then. */
const DRAIN_TIMEOUT_MS = 60_000;
/** File descriptors the benchmark needs beyond one per socket. */
const SPARE_FDS = 500;
const id = Math.random().toString(36).slice(2, 10);
const busPrefix = `soak${id}`;

type TidelineSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);

interface Service {
  url: string;
  child: ChildProcess;
  /** Every later stdout line goes to these. */
  listeners: ((line: string) => void)[];
}

/**
 * Starts `entry` (relative to the repository) with tsx under the bench's memory probe (so a full
 * GC can be asked for before each sample) and waits for its `started` log line.
 */
function spawnService(entry: string, env: Record<string, string>): Promise<Service> {
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
  children.push(child);
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} did not start:\n${lines.join('\n')}`)),
      START_TIMEOUT_MS,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      for (const listener of listeners) listener(line);
      if (lines.length < 50) lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'started' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve({ url: `http://127.0.0.1:${entry.port}`, child, listeners });
        }
      } catch {
        // not a log line
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}:\n${lines.join('\n')}`)));
  });
}

/**
 * Asks the service's memory probe for a full GC; resolves with the heap in use it measured in the
 * same tick, right after the GC (nothing the service does next can be counted in it).
 */
function heapAfterGc(service: Service): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory report from the probe')), GC_TIMEOUT_MS);
    const listener = (line: string) => {
      if (!line.startsWith('{"memory"')) return;
      clearTimeout(timer);
      service.listeners.splice(service.listeners.indexOf(listener), 1);
      resolve((JSON.parse(line) as { memory: { heapUsed: number } }).memory.heapUsed);
    };
    service.listeners.push(listener);
    service.child.kill('SIGUSR2');
  });
}

/**
 * One sample of the gateway's memory after a full GC (so the sawtooth of garbage does not hide or
 * fake a trend): `rss` and `metricsHeap` from its Prometheus text (prefixed or conventional names),
 * `heap` as the probe measured it right after the GC. The slope of the heap uses `heap`: by the
 * time /metrics is read, a write's fan-out to every socket may be in flight and counted.
 */
async function memoryOf(gateway: Service): Promise<{ rss: number; heap: number; metricsHeap: number }> {
  const heap = await heapAfterGc(gateway);
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const value = (...names: string[]) => {
    for (const name of names) {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      if (line) return Number(line.split(' ').at(-1));
    }
    throw new Error(`/metrics has none of ${names.join(', ')}`);
  };
  return {
    rss: value('tideline_process_resident_memory_bytes', 'process_resident_memory_bytes'),
    heap,
    metricsHeap: value('tideline_nodejs_heap_size_used_bytes', 'nodejs_heap_size_used_bytes'),
  };
}

async function post(url: string, body: unknown, token: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as unknown;
}

async function main(): Promise<number> {
  const fdLimit = Number(process.env['TIDELINE_SOAK_FD_LIMIT'] ?? Number.NaN);
  if (Number.isFinite(fdLimit) && fdLimit < settings.soakSockets + SPARE_FDS)
    throw new Error(
      `open-file limit ${fdLimit} is below ${settings.soakSockets} sockets + ${SPARE_FDS}; raise it (ulimit -n) or lower TIDELINE_SOAK_SOCKETS`,
    );
  const database = await TestDatabase.create('tideline_soak');
  const writer = testToken('soak-writer', ['websites:read', 'websites:write']);
  const sockets: TidelineSocket[] = [];
  try {
    const common = {
      TIDELINE_ENV: 'test',
      TIDELINE_LOG_LEVEL: 'warn',
      TIDELINE_NATS_URL: NATS_URL,
      TIDELINE_REDIS_URL: REDIS_URL,
      TIDELINE_BUS_PREFIX: busPrefix,
      TIDELINE_STATEFUL_NAMESPACE: `soak-${id}`,
    };
    const { url: apiUrl } = await spawnService('apps/website-api/src/main.ts', {
      ...common,
      TIDELINE_LOG_LEVEL: 'info',
      TIDELINE_WEBSITE_API_PORT: '0',
      TIDELINE_WEBSITE_API_HOST: '127.0.0.1',
      TIDELINE_DATABASE_URL: database.url,
      TIDELINE_WEBSITE_API_RELAY_INTERVAL_MS: '100',
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_MAX: '1000000',
      TIDELINE_WEBSITE_API_WRITE_RATE_LIMIT_KEY_PREFIX: `${busPrefix}:writes:`,
    });
    const gateway = await spawnService('apps/push-gateway/src/main.ts', {
      ...common,
      TIDELINE_LOG_LEVEL: 'info',
      TIDELINE_GATEWAY_PORT: '0',
      TIDELINE_GATEWAY_HOST: '127.0.0.1',
      TIDELINE_GATEWAY_WEBSITE_API_URL: apiUrl,
      TIDELINE_GATEWAY_ADAPTER_KEY: `soak-${id}`,
    });
    const gatewayUrl = gateway.url;

    const lineGroup = (await post(
      `${apiUrl}/api/v1/line-groups/create`,
      { name: `soak-${id}`, cname: `soak-${id}.cdn.example.net` },
      writer,
    )) as { data: { id: number } };
    const website = (await post(
      `${apiUrl}/api/v1/websites/create`,
      { domains: [`soak.w${id}.example.com`], line_group_id: lineGroup.data.id },
      writer,
    )) as { data: { website_id: number } };

    // ---- connect and subscribe ------------------------------------------------------------------
    let received = 0;
    let dropped = 0;
    let lastEventId = 0;
    const lastSeen: number[] = [];
    const connectStarted = performance.now();
    for (let i = 0; i < settings.soakSockets; i += CONNECT_BATCH) {
      const batch = Array.from(
        { length: Math.min(CONNECT_BATCH, settings.soakSockets - i) },
        async (_, j) => {
          const n = i + j;
          const socket: TidelineSocket = io(gatewayUrl, {
            transports: ['websocket'],
            forceNew: true,
            reconnection: false,
            auth: { token: testToken(`soak-${n}`, ['websites:read']) },
          });
          lastSeen[n] = 0;
          socket.on('websites:initial', (initial) => {
            lastSeen[n] = Math.max(lastSeen[n]!, initial.lastEventId);
          });
          socket.on('websites:update', (update: WebsitesUpdate) => {
            received++;
            lastSeen[n] = Math.max(lastSeen[n]!, update.eventId);
          });
          socket.on('disconnect', () => dropped++);
          await new Promise<void>((resolve, reject) => {
            socket.once('connected', () => resolve());
            socket.once('connect_error', reject);
          });
          const ack = await socket.emitWithAck('request:websites', {});
          if (!ack.ok) throw new Error(`request:websites refused: ${ack.code}`);
          sockets.push(socket);
        },
      );
      await Promise.all(batch);
    }
    console.log(
      `soak: ${settings.soakSockets} sockets connected and subscribed in ${((performance.now() - connectStarted) / 1000).toFixed(1)} s`,
    );

    // ---- hold, trickle, sample ------------------------------------------------------------------
    const samples: { t: number; rss: number; heap: number; metricsHeap: number }[] = [];
    const holdStarted = performance.now();
    const elapsed = () => (performance.now() - holdStarted) / 1000;
    let writes = 0;
    let writing = true;
    const trickle = (async () => {
      while (writing) {
        const answer = (await post(
          `${apiUrl}/api/v1/websites/update`,
          { website_id: website.data.website_id, https_enabled: writes % 2 === 0 },
          writer,
        )) as { data: unknown };
        if (answer.data !== undefined) writes++;
        await sleep(settings.soakWriteIntervalMs);
      }
    })();
    // A failed write ends the trickle; it is reported after the hold.
    const trickleFailed = trickle.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    while (elapsed() < settings.soakDurationSeconds) {
      const memory = await memoryOf(gateway);
      const sample = { t: elapsed(), ...memory };
      samples.push(sample);
      console.log(
        `soak: t=${sample.t.toFixed(0).padStart(5)} s  rss=${mib(sample.rss).padStart(7)} MiB  heap after GC=${mib(sample.heap).padStart(7)} MiB (/metrics ${mib(sample.metricsHeap).padStart(7)})  writes=${writes}  deliveries=${received}  dropped=${dropped}${sample.t < settings.soakWarmupSeconds ? '  (warm-up)' : ''}`,
      );
      await sleep(settings.soakSampleIntervalMs);
    }
    writing = false;
    const writeError = await trickleFailed;
    if (writeError) throw writeError;

    // Every socket must have the last write: the gateway kept serving all of them.
    const snapshot = (await (
      await fetch(`${apiUrl}/internal/v1/websites/snapshot`, {
        headers: { authorization: `Bearer ${testToken('service:soak', ['internal'])}` },
      })
    ).json()) as { lastEventId: number };
    lastEventId = snapshot.lastEventId;
    const drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (lastSeen.some((seen) => seen < lastEventId) && performance.now() < drainDeadline) await sleep(100);
    const behind = lastSeen.filter((seen) => seen < lastEventId).length;

    // ---- verdict --------------------------------------------------------------------------------
    const settled = samples.filter((s) => s.t >= settings.soakWarmupSeconds);
    if (settled.length < 3) throw new Error(`only ${settled.length} samples after the warm-up; hold longer`);
    const perSocketPerMinute = (key: 'rss' | 'heap') =>
      (leastSquaresSlope(settled.map((s) => [s.t, s[key]])) * 60) / settings.soakSockets;
    const rssSlope = perSocketPerMinute('rss');
    const heapSlope = perSocketPerMinute('heap');
    const heapBound = settings.soakMaxHeapSlopeBytesPerMinutePerSocket;
    const rssBound = settings.soakMaxRssSlopeBytesPerMinutePerSocket;
    const minutes = (settings.soakDurationSeconds / 60).toFixed(1);
    console.log(
      `soak: ${settings.soakSockets} sockets, ${minutes} min, ${writes} writes, ${received} deliveries, ${dropped} dropped, ${behind} behind the last event`,
    );
    console.log(
      `soak: rss ${mib(settled[0]!.rss)} -> ${mib(settled.at(-1)!.rss)} MiB, heap ${mib(settled[0]!.heap)} -> ${mib(settled.at(-1)!.heap)} MiB over ${settled.length} samples after the ${settings.soakWarmupSeconds} s warm-up`,
    );
    console.log(
      `soak: slope rss ${rssSlope.toFixed(1)} B/min/socket, heap ${heapSlope.toFixed(1)} B/min/socket (bounds: heap ${heapBound}, rss ${rssBound} B/min/socket)`,
    );
    const failures = [
      heapSlope > heapBound ? `heap slope ${heapSlope.toFixed(1)} > ${heapBound} B/min/socket` : '',
      rssSlope > rssBound ? `rss slope ${rssSlope.toFixed(1)} > ${rssBound} B/min/socket` : '',
      dropped > 0 ? `${dropped} sockets dropped` : '',
      behind > 0 ? `${behind} sockets behind event ${lastEventId}` : '',
    ].filter(Boolean);
    console.log(failures.length === 0 ? 'soak: PASS' : `soak: FAIL (${failures.join('; ')})`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    for (const socket of sockets) socket.disconnect();
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)),
      ),
    );
    await removeStreams(busPrefix).catch(() => undefined);
    await removeKeys(`*${id}*`).catch(() => undefined);
    await database[Symbol.asyncDispose]();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(`soak: error: ${(error as Error).stack ?? error}`);
  return 1;
});

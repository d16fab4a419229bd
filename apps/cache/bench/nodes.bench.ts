/**
 * `npm run bench -w @tideline/cache`: informer throughput and cache query latency for
 * 10 clusters × 5,000 nodes, next to the naive baseline (list from the API server on every query)
 * measured in the same run. Real NATS (127.0.0.1:4222, a private prefix); the Kubernetes API test
 * servers in one child process and the informer (`apps/informer/src/main.ts`) in another, as in a
 * deployment; the cache in this process, so its queries can be timed in-process and over HTTP.
 * Bounded: every phase has a count and a deadline; the whole run stays under ~90 s.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { INTERNAL_PATHS, NODES_API } from '@tideline/contracts';
import { testInformerEnv } from '@tideline/informer/testing';
import { eventually, removeStreams, testToken, uniquePrefix } from '@tideline/test-support';
import { parseLabelSelector } from '../src/domain/label-selector.ts';
import { startCache } from '../src/index.ts';

const CLUSTERS = 10;
const NODES = 5_000;
const HEARTBEAT_ROUNDS = 1;
const CHANGES_PER_CLUSTER = 200;
const IN_PROCESS_QUERIES = 12_000;
const HTTP_QUERIES = 1_500;
const NAIVE_QUERIES = 8;
const PHASE_TIMEOUT_MS = 40_000;
const RUN_DEADLINE_MS = 120_000;

const deadline = setTimeout(() => {
  process.stderr.write(`bench: exceeded ${RUN_DEADLINE_MS} ms; aborting\n`);
  process.exit(2);
}, RUN_DEADLINE_MS);
deadline.unref();

const log = (line: string) => process.stdout.write(`${line}\n`);

// ---- the API servers, in their own process ------------------------------------------------------
function startFleet(): Promise<{ child: ChildProcess; call: <T>(message: object) => Promise<T> }> {
  const child = fork(fileURLToPath(new URL('./kube-fleet.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  const waiting: ((value: unknown) => void)[] = [];
  child.on('message', (message) => waiting.shift()?.(message));
  const next = () => new Promise<unknown>((resolve) => waiting.push(resolve));
  const ready = next();
  const call = async <T>(message: object): Promise<T> => {
    const answer = next();
    child.send(message);
    return (await answer) as T;
  };
  return ready.then(() => ({ child, call }));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

/** The informer as its own process; resolves with its URL once it listens. */
function spawnInformer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const main = fileURLToPath(new URL('../../informer/src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env['PATH'] ?? '', ...env, TIDELINE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the informer did not start')), PHASE_TIMEOUT_MS);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += String(chunk);
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number; level?: string };
          if (entry.msg === 'started' && entry.port) {
            clearTimeout(timer);
            resolve({ child, url: `http://127.0.0.1:${entry.port}` });
          } else if (entry.level === 'error' || entry.level === 'fatal') {
            process.stderr.write(`informer: ${line}\n`);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`the informer exited (${code})`)));
  });
}

/** Sums of the informer's counters by metric name, scraped from its /metrics. */
async function scrape(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(tideline_informer_[a-z_]+)\{[^}]*\} ([0-9.e+-]+)$/.exec(line);
    if (match) sums[match[1]!] = (sums[match[1]!] ?? 0) + Number(match[2]);
  }
  return sums;
}

/** Last event id per cluster, as the informer reports it. */
async function lastIds(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const ids = new Map<string, number>();
  for (const match of text.matchAll(
    /^tideline_informer_last_event_id\{[^}]*cluster="([^"]+)"[^}]*\} ([0-9]+)$/gm,
  ))
    ids.set(match[1]!, Number(match[2]));
  return ids;
}

const prefix = uniquePrefix('bench');
const fleet = await startFleet();
const cleanup: (() => Promise<unknown>)[] = [
  async () => {
    await fleet.call({ cmd: 'stop' }).catch(() => undefined);
  },
  () => removeStreams(prefix),
];

try {
  log(
    `tideline nodes benchmark: ${CLUSTERS} clusters × ${NODES} nodes (Node ${process.version}, NATS JetStream, @kubernetes/client-node 2.0.1)`,
  );
  const started = performance.now();
  const { entries, urls, tokens } = await fleet.call<{ entries: string[]; urls: string[]; tokens: string[] }>(
    {
      cmd: 'start',
      clusters: CLUSTERS,
      nodes: NODES,
      historyWindow: NODES * (HEARTBEAT_ROUNDS + 4),
    },
  );
  log(
    `  API servers up with ${CLUSTERS * NODES} nodes in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  // ---- informer: initial list and publish -------------------------------------------------------
  const t0 = performance.now();
  const informer = await spawnInformer(
    testInformerEnv({
      prefix,
      env: {
        TIDELINE_INFORMER_CLUSTERS: entries.join(','),
        TIDELINE_INFORMER_WATCHDOG_MS: '120000',
        TIDELINE_INFORMER_WATCH_IDLE_TIMEOUT_MS: '90000',
        TIDELINE_BUS_RETENTION_SECONDS: '3600',
      },
    }),
  );
  cleanup.unshift(async () => {
    informer.child.kill('SIGTERM');
    await new Promise((resolve) => informer.child.once('exit', resolve));
  });
  const allAt = async (expected: (cluster: string) => number) => {
    const ids = await lastIds(informer.url);
    return ids.size === CLUSTERS && [...ids].every(([cluster, id]) => id >= expected(cluster));
  };
  await eventually(() => allAt(() => NODES + 1), PHASE_TIMEOUT_MS);
  const initialMs = performance.now() - t0;
  log(
    `  informer: listed and published ${CLUSTERS * (NODES + 1)} events (added + registered) in ${(initialMs / 1000).toFixed(1)} s`,
  );

  // ---- cache: rebuild from the bus --------------------------------------------------------------
  const t1 = performance.now();
  const cache = await startCache({
    source: {
      env: {
        TIDELINE_ENV: 'test',
        TIDELINE_LOG_LEVEL: 'silent',
        TIDELINE_CACHE_PORT: '0',
        TIDELINE_CACHE_HOST: '127.0.0.1',
        TIDELINE_BUS_PREFIX: prefix,
        TIDELINE_STATEFUL_NAMESPACE: prefix,
        TIDELINE_CACHE_PAGE_SIZE_MAX: '5000',
      },
    },
  });
  cleanup.unshift(() => cache.stop('bench done'));
  const catchUpMs = performance.now() - t1;
  log(
    `  cache: rebuilt ${CLUSTERS * (NODES + 1)} events from the bus and ready in ${(catchUpMs / 1000).toFixed(1)} s`,
  );

  // ---- informer throughput: heartbeat-only updates ----------------------------------------------
  const before = await scrape(informer.url);
  const expectedUpdates = CLUSTERS * NODES * HEARTBEAT_ROUNDS;
  const t2 = performance.now();
  const generated = await fleet.call<{ updates: number; ms: number }>({
    cmd: 'heartbeats',
    rounds: HEARTBEAT_ROUNDS,
  });
  let received = 0;
  let filtered = 0;
  await eventually(async () => {
    const now = await scrape(informer.url);
    received =
      (now['tideline_informer_node_updates_total'] ?? 0) -
      (before['tideline_informer_node_updates_total'] ?? 0);
    filtered =
      (now['tideline_informer_filtered_total'] ?? 0) - (before['tideline_informer_filtered_total'] ?? 0);
    return received >= expectedUpdates && filtered >= received;
  }, PHASE_TIMEOUT_MS);
  const heartbeatMs = performance.now() - t2;
  const heartbeatEvents =
    ((await scrape(informer.url))['tideline_informer_events_total'] ?? 0) -
    (before['tideline_informer_events_total'] ?? 0);

  // ---- informer throughput: meaningful changes, end to end to the cache --------------------------
  const idsBefore = await lastIds(informer.url);
  const t3 = performance.now();
  const { changes } = await fleet.call<{ changes: number }>({
    cmd: 'changes',
    perCluster: CHANGES_PER_CLUSTER,
  });
  await eventually(
    () => [...idsBefore].every(([name, id]) => cache.model.lastEventIdOf(name) >= id + CHANGES_PER_CLUSTER),
    PHASE_TIMEOUT_MS,
  );
  const changesMs = performance.now() - t3;

  // ---- query latency ----------------------------------------------------------------------------
  const clusters = [...idsBefore.keys()].sort();
  const zone = parseLabelSelector('topology.kubernetes.io/zone=zone-1');
  const flipped = parseLabelSelector('bench/flip');
  const inProcess: ((i: number) => unknown)[] = [
    (i) => cache.model.list(clusters[i % CLUSTERS]!, {}, 0, 100),
    (i) => cache.model.list(clusters[i % CLUSTERS]!, { selector: zone }, 0, 100),
    (i) => cache.model.list(clusters[i % CLUSTERS]!, { ready: false }, 0, 100),
    (i) => cache.model.list(clusters[i % CLUSTERS]!, { schedulable: true, selector: flipped }, 0, 100),
    (i) => cache.model.node(clusters[i % CLUSTERS]!, `node-${String((i * 7919) % NODES).padStart(5, '0')}`),
    () => clusters.map((c) => cache.model.summary(c)),
  ];
  const inProcessSamples: number[] = [];
  const perKind: number[][] = inProcess.map(() => []);
  for (let i = 0; i < IN_PROCESS_QUERIES; i++) {
    const query = inProcess[i % inProcess.length]!;
    const t = performance.now();
    query(i);
    const ms = performance.now() - t;
    inProcessSamples.push(ms);
    perKind[i % inProcess.length]!.push(ms);
  }

  const headers = { authorization: `Bearer ${testToken('bench', ['nodes:read', 'internal'])}` };
  const paths: ((i: number) => string)[] = [
    (i) => `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100`,
    (i) =>
      `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100&labelSelector=topology.kubernetes.io%2Fzone%3Dzone-1`,
    (i) => `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100&ready=false`,
    (i) =>
      `${NODES_API.nodes(clusters[i % CLUSTERS]!)}?page_size=100&schedulable=true&labelSelector=bench%2Fflip`,
    (i) => NODES_API.node(clusters[i % CLUSTERS]!, `node-${String((i * 7919) % NODES).padStart(5, '0')}`),
    () => NODES_API.clusters,
  ];
  const httpSamples: number[] = [];
  for (let i = 0; i < HTTP_QUERIES; i++) {
    const t = performance.now();
    const response = await fetch(`${cache.url}${paths[i % paths.length]!(i)}`, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`query answered ${response.status}`);
    httpSamples.push(performance.now() - t);
  }
  const snapshotSamples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const response = await fetch(`${cache.url}${INTERNAL_PATHS.nodesSnapshot(clusters[i % CLUSTERS]!)}`, {
      headers,
    });
    await response.arrayBuffer();
    snapshotSamples.push(performance.now() - t);
  }

  // ---- naive baseline: list from the API server on every query ----------------------------------
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bench', server: urls[0]!, skipTLSVerify: true }],
    users: [{ name: 'bench', token: tokens[0]! }],
    contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
    currentContext: 'bench',
  });
  const api = kc.makeApiClient(CoreV1Api);
  const naiveSamples: number[] = [];
  for (let i = 0; i < NAIVE_QUERIES; i++) {
    const t = performance.now();
    const list = await api.listNode();
    const page = list.items.filter((n) => zone(n.metadata?.labels ?? {})).slice(0, 100);
    if (page.length === 0) throw new Error('naive query found nothing');
    naiveSamples.push(performance.now() - t);
  }

  // ---- report -----------------------------------------------------------------------------------
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const mem = process.memoryUsage();
  const inP = summarize(inProcessSamples);
  const http = summarize(httpSamples);
  const snap = summarize(snapshotSamples);
  const naive = summarize(naiveSamples);
  log('');
  log('informer throughput (API server → watch → change detection → bus)');
  log(
    `  heartbeat-only updates   ${generated.updates} generated, ${received} received, ${filtered} filtered, ${heartbeatEvents} events published`,
  );
  log(
    `                           ${Math.round((received / heartbeatMs) * 1000)} updates/s processed and filtered (${(heartbeatMs / 1000).toFixed(2)} s; the API servers needed ${(generated.ms / 1000).toFixed(2)} s to emit them)`,
  );
  log(
    `  meaningful changes       ${changes} label changes → ${changes} events in the cache in ${(changesMs / 1000).toFixed(2)} s = ${Math.round((changes / changesMs) * 1000)} events/s end to end`,
  );
  log(
    `  initial sync             ${Math.round(((CLUSTERS * NODES) / initialMs) * 1000)} nodes/s listed and published (${(initialMs / 1000).toFixed(1)} s)`,
  );
  log('');
  log(
    `cache query latency (${CLUSTERS} clusters × ${NODES} nodes; mix: page of 100, label selector, ready=false, schedulable+selector, one node, summaries)`,
  );
  log(
    `  in-process               p50 ${fmt(inP.p50)}   p99 ${fmt(inP.p99)}   (${IN_PROCESS_QUERIES} queries)`,
  );
  const kinds = [
    'page of 100',
    'label selector',
    'ready=false',
    'schedulable+selector',
    'one node',
    'summaries (10)',
  ];
  log(
    `    by kind (p50/p99)      ${perKind.map((samples, k) => `${kinds[k]} ${fmt(summarize(samples).p50)}/${fmt(summarize(samples).p99)}`).join(', ')}`,
  );
  log(
    `  over HTTP (JWT, JSON)    p50 ${fmt(http.p50)}   p99 ${fmt(http.p99)}   (${HTTP_QUERIES} sequential requests)`,
  );
  log(
    `  full snapshot (5,000)    p50 ${fmt(snap.p50)}   p99 ${fmt(snap.p99)}   (internal endpoint, 20 requests)`,
  );
  log(
    `  naive baseline           p50 ${fmt(naive.p50)}   p99 ${fmt(naive.p99)}   (client-node listNode of 5,000 nodes + filter, per query; ${NAIVE_QUERIES} queries)`,
  );
  log(
    `  → over HTTP the cache answers ${Math.round(naive.p50 / http.p50)}× faster at p50 than listing from the API server`,
  );
  log('');
  log(
    `cache process: rss ${Math.round(mem.rss / 1048576)} MiB, heap ${Math.round(mem.heapUsed / 1048576)} MiB${gc ? ' after GC' : ''}; run ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
} finally {
  for (const step of cleanup)
    await step().catch((error: unknown) => process.stderr.write(`cleanup: ${String(error)}\n`));
}
process.exit(0);

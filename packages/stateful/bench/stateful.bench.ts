/**
 * Throughput of every stateful executor method at concurrency 1 and 64, each beside
 * `redis-benchmark` GET (reads) or SET (writes) against the same Redis in the same round; the
 * ratio is the figure. Also, for reference, a raw ioredis SET over one connection at the same
 * concurrency (what any method of a Node client on one connection can reach at best).
 *
 *   npm run bench -w @tideline/stateful   (TIDELINE_REDIS_URL, default redis://127.0.0.1:6379;
 *                                          TIDELINE_BENCH_ROUNDS rounds, default 3;
 *                                          TIDELINE_STATEFUL_AUTO_PIPELINING, default true)
 *
 * Bounded: each case stops after `caseMaxOps` operations or `caseMaxMs`, and a round skips its
 * remaining cases past `roundBudgetMs`. Keys live in a namespace of their own and are deleted at
 * the end. The executor multiplexes one connection (concurrent calls are pipelined; with
 * auto-pipelining the commands of one event-loop turn leave as one write); redis-benchmark -c 64
 * opens 64 connections.
 *
 * References for computeLinkedPodIfAbsent, whose state-chooser calls of one event-loop turn the
 * executor links with one `link_compute` call (TIDELINE_STATEFUL_COMPUTE_BATCH_MAX, default 64):
 * one EVALSHA of `link_compute` per call (one uid each), sent by a bare ioredis client (same
 * auto-pipelining setting, arguments prepared beforehand) — the method without batching and
 * without the executor — with the script's cost in Redis for it (INFO commandstats, µs per call)
 * beside SET's; and at c=64 redis-benchmark itself sending that EVALSHA (64 connections, a new uid
 * each): the script beside SET with the same C client, no Node on either side.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { BenchRun } from '@tideline/bench';
import { loadConfig, statefulSettings } from '@tideline/config';
import { Redis } from 'ioredis';
import { keys } from '../src/keys.ts';
import { RedisStatefulExecutor } from '../src/redis-executor.ts';
import { ScriptRunner } from '../src/scripts.ts';
import { WriteCoalescer } from '../src/write-coalescing.ts';

const BENCH = {
  concurrencies: [1, 64] as const,
  caseMaxOps: 20_000,
  caseMaxMs: 350,
  roundBudgetMs: 30_000,
  redisBenchmarkRequests: 20_000,
  redisBenchmarkTimeoutMs: 8_000,
  /** `redis-benchmark -r`: the random uids of its link_compute calls, so each links a new one. */
  redisBenchmarkKeyspace: 1_000_000_000,
  commandTimeoutMs: 2_000,
  uidsPerCase: 5_000,
  podsInService: 8,
};

const { statefulAutoPipelining: autoPipelining, statefulComputeBatchMax: computeBatchMax } = loadConfig({
  statefulAutoPipelining: statefulSettings.statefulAutoPipelining,
  statefulComputeBatchMax: statefulSettings.statefulComputeBatchMax,
});
const url = new URL(process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const host = url.hostname;
const port = url.port || '6379';
const ns = `bench-${randomUUID().replaceAll('-', '').slice(0, 12)}`;

interface Figure {
  opsPerSecond: number;
  /** How many operations completed (measure only). */
  operations?: number;
}

/** redis-benchmark's own requests/s (from its CSV) per test, at one concurrency. */
/**
 * redis-benchmark's requests/s sending EVALSHA of link_compute at `concurrency`, a new uid (and
 * links key) each call (`-r`), picking among the pods of `podsKey` in state `ready`.
 */
async function redisBenchmarkCompute(concurrency: number, sha: string, podsKey: string): Promise<Figure> {
  const args = [
    '-h',
    host,
    '-p',
    port,
    '-n',
    String(BENCH.redisBenchmarkRequests),
    '-c',
    String(concurrency),
  ];
  const uid = 'rb-__rand_int__';
  const script = [sha, '2', podsKey, keys.links(ns, uid), service, '30000', '0', 'pick', '1', 'ready', uid];
  const { stdout } = await promisify(execFile)(
    'redis-benchmark',
    [...args, '-r', String(BENCH.redisBenchmarkKeyspace), '--csv', 'EVALSHA', ...script],
    { timeout: BENCH.redisBenchmarkTimeoutMs },
  );
  const row = stdout.trim().split('\n')[1]?.split(',');
  const rps = Number(row?.[1]?.replaceAll('"', ''));
  if (!Number.isFinite(rps) || rps <= 0) throw new Error(`unexpected redis-benchmark output:\n${stdout}`);
  return { opsPerSecond: rps };
}

async function redisBenchmark(
  concurrency: number,
  tests = 'get,set',
): Promise<Record<'GET' | 'SET', Figure>> {
  const args = [
    '-h',
    host,
    '-p',
    port,
    '-t',
    tests,
    '-n',
    String(BENCH.redisBenchmarkRequests),
    '-c',
    String(concurrency),
    '--csv',
  ];
  const { stdout } = await promisify(execFile)('redis-benchmark', args, {
    timeout: BENCH.redisBenchmarkTimeoutMs,
  });
  const rows = stdout
    .trim()
    .split('\n')
    .map((line) => line.split(',').map((cell) => cell.replaceAll('"', '')));
  const header = rows[0] ?? [];
  const rps = header.indexOf('rps');
  const out: Partial<Record<'GET' | 'SET', Figure>> = {};
  for (const row of rows.slice(1)) {
    if (row[0] === 'GET' || row[0] === 'SET') out[row[0]] = { opsPerSecond: Number(row[rps]) };
  }
  for (const test of tests.split(','))
    if (!out[test.toUpperCase() as Kind]) throw new Error(`unexpected redis-benchmark output:\n${stdout}`);
  return out as Record<'GET' | 'SET', Figure>;
}

async function measure(
  concurrency: number,
  maxOps: number,
  op: (i: number) => Promise<unknown>,
): Promise<Figure> {
  let done = 0;
  let next = 0;
  const begin = performance.now();
  const deadline = begin + BENCH.caseMaxMs;
  const worker = async () => {
    while (next < maxOps && performance.now() < deadline) {
      await op(next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { opsPerSecond: done / ((performance.now() - begin) / 1000), operations: done };
}

type Kind = 'GET' | 'SET';
interface Case {
  method: string;
  label?: string;
  /** The redis-benchmark test it compares with: reads with GET, writes with SET. */
  baseline: Kind;
  /**
   * Measures its own baseline right before it instead of using the one of the round's start: on
   * a shared machine the load seconds apart differs more than the figures being compared.
   */
  adjacentBaseline?: boolean;
  /** Runs before each concurrency, e.g. to create the links that the case then removes. */
  prepare?: (tag: string) => Promise<void>;
  /** Fewer operations than `caseMaxOps`, e.g. one per prepared link so every removal finds one. */
  maxOps?: number;
  op: (i: number, tag: string) => Promise<unknown>;
}

const executor = new RedisStatefulExecutor({
  url: url.toString(),
  commandTimeoutMs: BENCH.commandTimeoutMs,
  connectTimeoutMs: BENCH.commandTimeoutMs,
  reconnectBackoff: { initialMs: 100, maxMs: 1_000 },
  connectionName: 'stateful-bench',
  autoPipelining,
  computeBatchMax,
});
const admin = new Redis(url.toString());
const service = 'push-gateway';
const uid = (i: number, tag: string) => `${tag}-u${i % BENCH.uidsPerCase}`;
const pod = (i: number) => `pod-${i % BENCH.podsInService}`;
const link = (i: number, tag: string) => ({
  ns,
  uid: uid(i, tag),
  service,
  podId: pod(i),
  persistSeconds: 30,
});

async function linkAll(tag: string): Promise<void> {
  for (let i = 0; i < BENCH.uidsPerCase; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => executor.setLinkedPod(link(i + j, tag))));
  }
}

const cases: Case[] = [
  {
    method: 'setServiceState',
    baseline: 'SET',
    op: (i) => executor.setServiceState({ ns, service, podId: pod(i), state: 'ready', ttlSeconds: 30 }),
  },
  { method: 'getServiceState', baseline: 'GET', op: () => executor.getServiceState(ns, service) },
  { method: 'setWorkloadState', baseline: 'SET', op: () => executor.setWorkloadState(ns, service, 'steady') },
  {
    method: 'getWorkloadState',
    baseline: 'GET',
    op: () => executor.getWorkloadState(ns, [service, 'cache']),
  },
  { method: 'setLinkedPod', baseline: 'SET', op: (i, tag) => executor.setLinkedPod(link(i, tag)) },
  { method: 'trySetLinkedPod', baseline: 'SET', op: (i, tag) => executor.trySetLinkedPod(link(i, tag)) },
  {
    method: 'setLinkedPodIfAbsent',
    baseline: 'SET',
    op: (i, tag) => executor.setLinkedPodIfAbsent(link(i, tag)),
  },
  {
    method: 'computeLinkedPodIfAbsent',
    label: 'computeLinkedPodIfAbsent (a new uid each)',
    baseline: 'SET',
    adjacentBaseline: true,
    // Every pod of the service ready, so each call picks among all of them and links one.
    prepare: async () => {
      for (let p = 0; p < BENCH.podsInService; p++)
        await executor.setServiceState({ ns, service, podId: pod(p), state: 'ready', ttlSeconds: 60 });
    },
    op: (i, tag) =>
      executor.computeLinkedPodIfAbsent({
        ns,
        uid: `${tag}-c${i}`,
        service,
        choose: { states: ['ready'] },
        persistSeconds: 30,
      }),
  },
  {
    method: 'getLinkedPod',
    baseline: 'GET',
    prepare: linkAll,
    op: (i, tag) => executor.getLinkedPod(ns, uid(i, tag), service),
  },
  {
    method: 'getLinkService',
    baseline: 'GET',
    prepare: linkAll,
    op: (i, tag) => executor.getLinkService(ns, uid(i, tag)),
  },
  {
    method: 'removeLinkedPod',
    baseline: 'SET',
    prepare: linkAll,
    maxOps: BENCH.uidsPerCase,
    op: (i, tag) => executor.removeLinkedPod({ ns, uid: uid(i, tag), service, persistSeconds: 30 }),
  },
  {
    method: 'removeLinkedPodWithId',
    baseline: 'SET',
    prepare: linkAll,
    maxOps: BENCH.uidsPerCase,
    op: (i, tag) =>
      executor.removeLinkedPodWithId({ ns, uid: uid(i, tag), service, podId: pod(i), persistSeconds: 0 }),
  },
];

async function deleteNamespace(): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  for (let round = 0; round < 100_000; round++) {
    const [nextCursor, found] = await admin.scan(cursor, 'MATCH', `tl:{${ns}*`, 'COUNT', 1000);
    if (found.length > 0) deleted += await admin.del(...found);
    cursor = nextCursor;
    if (cursor === '0') break;
  }
  return deleted;
}

const run = new BenchRun({
  bench: 'stateful',
  description:
    'Stateful executor methods (ops/s over one ioredis connection) beside redis-benchmark GET/SET at the same concurrency, same round',
});
for (const benchCase of cases) {
  for (const c of BENCH.concurrencies) {
    const compute = benchCase.method === 'computeLinkedPodIfAbsent';
    run.define({
      id: `${benchCase.method}.c${c}`,
      label: `${benchCase.label ?? benchCase.method}, c=${c}`,
      unit: 'ops/s',
      better: 'higher',
      baseline: `redis-benchmark ${benchCase.baseline}, c=${c}`,
      ...(compute && c === 64 ? { goal: 0.6, goalNote: 'issue 17' } : {}),
    });
  }
}
for (const c of BENCH.concurrencies) {
  run.define(
    {
      id: `ioredis-set.c${c}`,
      label: `raw ioredis SET over one connection, c=${c}`,
      unit: 'ops/s',
      better: 'higher',
      baseline: `redis-benchmark SET, c=${c}`,
    },
    {
      id: `compute-vs-bare.c${c}`,
      label: `computeLinkedPodIfAbsent beside one bare EVALSHA link_compute per call, c=${c}`,
      unit: 'ops/s',
      better: 'higher',
      baseline: `bare ioredis EVALSHA link_compute, c=${c}`,
    },
    {
      id: `ioredis-evalsha-compute.c${c}`,
      label: `bare ioredis EVALSHA link_compute, one uid per call, over one connection, c=${c}`,
      unit: 'ops/s',
      better: 'higher',
      baseline: `redis-benchmark SET, c=${c}`,
    },
  );
}
run.define({
  id: 'redis-benchmark-evalsha-compute.c64',
  label: 'redis-benchmark EVALSHA link_compute, one uid per call, 64 connections (no Node client), c=64',
  unit: 'ops/s',
  better: 'higher',
  baseline: 'redis-benchmark SET, c=64',
});
run.define({
  id: 'redis-usec-per-uid.compute',
  label: 'Redis time per uid that computeLinkedPodIfAbsent linked (batched), c=64 (INFO commandstats)',
  unit: 'µs/uid',
  better: 'lower',
});
run.define({
  id: 'redis-usec.link_compute',
  label: 'Redis time per link_compute EVALSHA of one uid, c=64 (INFO commandstats)',
  unit: 'µs/call',
  better: 'lower',
  baseline: 'Redis time per SET, c=64 (INFO commandstats)',
});

/** Calls and µs spent in Redis per command (INFO commandstats), for the commands asked. */
async function commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm))
    out.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  return out;
}

/** µs per call of `command` in Redis while `work` ran (other clients of the server count too). */
async function usecPerCall(command: string, work: () => Promise<unknown>): Promise<number> {
  const { usec, calls } = await usecSpent(command, work);
  return usec / Math.max(1, calls);
}

/** µs spent in Redis by `command`, and its calls, while `work` ran (other clients count too). */
async function usecSpent(
  command: string,
  work: () => Promise<unknown>,
): Promise<{ usec: number; calls: number }> {
  const before = (await commandStats()).get(command) ?? { calls: 0, usec: 0 };
  await work();
  const after = (await commandStats()).get(command) ?? { calls: 0, usec: 0 };
  return { usec: after.usec - before.usec, calls: after.calls - before.calls };
}

async function main(): Promise<void> {
  await executor.connect();
  const benchKey = 'key:__rand_int__';
  const benchKeyExisted = (await admin.exists(benchKey)) === 1;
  const raw = new Redis(url.toString(), { connectionName: 'stateful-bench-raw' });
  // The bare reference for compute: the executor's script and pipelining, arguments made in advance.
  const bare = new Redis(url.toString(), { connectionName: 'stateful-bench-bare' });
  const bareCoalescer = autoPipelining ? new WriteCoalescer(bare) : undefined;
  const scripts = new ScriptRunner(bare);
  await scripts.loadAll();
  const computeSha = scripts.shaOf('link_compute');
  const podsKey = keys.servicePods(ns, service);
  const bareArgs = (tag: string) =>
    Array.from({ length: BENCH.caseMaxOps }, (_, i) => {
      const uid = `${tag}-c${i}`;
      return [podsKey, keys.links(ns, uid), service, 30_000, 0, 'pick', 1, 'ready', uid] as const;
    });
  const bareCompute = (args: ReturnType<typeof bareArgs>) => (i: number) => {
    bareCoalescer?.hold();
    return bare.evalsha(computeSha, 2, ...args[i]!);
  };
  let skipped = 0;
  try {
    // Not recorded: compiles the client paths so that round 1 starts warm.
    await measure(64, BENCH.caseMaxOps, (i) => raw.set(`tl:{${ns}}:raw:${i % 1000}`, 'x'));
    for (const benchCase of cases) await measure(8, 200, (i) => benchCase.op(i, 'warm'));
    await measure(8, 200, bareCompute(bareArgs('warm-bare')));
    for (const round of run.rounds()) {
      const roundStarted = performance.now();
      const baselines = new Map<number, Record<Kind, Figure>>();
      for (const c of BENCH.concurrencies) {
        baselines.set(c, await redisBenchmark(c));
        const set = await measure(c, BENCH.caseMaxOps, (i) => raw.set(`tl:{${ns}}:raw:${i % 1000}`, 'x'));
        run.record(`ioredis-set.c${c}`, set.opsPerSecond, baselines.get(c)!.SET.opsPerSecond);
      }
      // redis-benchmark SET writes this one key; remove it unless someone else's was already there.
      if (!benchKeyExisted) await admin.del(benchKey);
      for (const [index, benchCase] of cases.entries()) {
        if (performance.now() - roundStarted > BENCH.roundBudgetMs) {
          skipped++;
          continue;
        }
        for (const c of BENCH.concurrencies) {
          const tag = `r${round}k${index}c${c}`;
          await benchCase.prepare?.(tag);
          let baseline = baselines.get(c)![benchCase.baseline].opsPerSecond;
          if (benchCase.adjacentBaseline) {
            baseline = (await redisBenchmark(c, benchCase.baseline.toLowerCase()))[benchCase.baseline]
              .opsPerSecond;
            if (!benchKeyExisted) await admin.del(benchKey);
          }
          let bare: Figure | undefined;
          if (benchCase.method === 'computeLinkedPodIfAbsent') {
            const args = bareArgs(`${tag}-bare`);
            let figure: Figure = { opsPerSecond: 0 };
            const usec = await usecPerCall('evalsha', async () => {
              figure = await measure(c, BENCH.caseMaxOps, bareCompute(args));
            });
            run.record(`ioredis-evalsha-compute.c${c}`, figure.opsPerSecond, baseline);
            bare = figure;
            if (c === 64) {
              const rb = await redisBenchmarkCompute(c, computeSha, podsKey);
              run.record('redis-benchmark-evalsha-compute.c64', rb.opsPerSecond, baseline);
              const setUsec = await usecPerCall('set', () =>
                measure(c, BENCH.caseMaxOps, (i) => raw.set(`tl:{${ns}}:raw:${i % 1000}`, 'x')),
              );
              run.record('redis-usec.link_compute', usec, setUsec);
            }
          }
          let figure: Figure = { opsPerSecond: 0 };
          const spent = await usecSpent('evalsha', async () => {
            figure = await measure(c, benchCase.maxOps ?? BENCH.caseMaxOps, (i) => benchCase.op(i, tag));
          });
          run.record(`${benchCase.method}.c${c}`, figure.opsPerSecond, baseline);
          if (bare) {
            run.record(`compute-vs-bare.c${c}`, figure.opsPerSecond, bare.opsPerSecond);
            if (c === 64)
              run.record('redis-usec-per-uid.compute', spent.usec / Math.max(1, figure.operations ?? 0));
          }
        }
      }
    }
  } finally {
    const deleted = await deleteNamespace();
    await executor.close();
    admin.disconnect();
    raw.disconnect();
    bare.disconnect();
    run.note(
      `Redis ${host}:${port}; auto-pipelining ${autoPipelining ? 'on' : 'off'} (TIDELINE_STATEFUL_AUTO_PIPELINING); computeLinkedPodIfAbsent batches of at most ${computeBatchMax} uids (TIDELINE_STATEFUL_COMPUTE_BATCH_MAX); each case ≤ ${BENCH.caseMaxMs} ms or ${BENCH.caseMaxOps} ops (removals: one per prepared link, ${BENCH.uidsPerCase}); namespace ${ns}: ${deleted} keys deleted; ${skipped} cases skipped over the ${BENCH.roundBudgetMs} ms round budget`,
    );
  }
  await run.finish();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

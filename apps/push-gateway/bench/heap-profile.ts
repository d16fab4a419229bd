/**
 * Where an idle subscribed socket's memory goes (`npx tsx apps/push-gateway/bench/heap-profile.ts`):
 * a gateway (bench/fake-gateway.ts: in-memory websites, real NATS and Redis) and a plain
 * Socket.IO server (bench/plain-server.ts), each a child process under the memory probe, take a
 * heap snapshot after GC before and after PROFILE_CLIENTS sockets connect (gateway sockets also
 * ask for the websites), after a warm-up of PROFILE_WARMUP sockets that came and went. Prints bytes per socket by object kind (constructor, or the V8 node type
 * for strings, closures, code, arrays…), largest first, for both. Bounded: one connect phase each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { removeStreams, testToken } from '@tideline/test-support';
import { io, type Socket } from 'socket.io-client';
import { removeKeys } from '../test/support/stack.ts';
import { PROBE_NODE_FLAGS } from './probe-flags.ts';

const CLIENTS = Number(process.env['PROFILE_CLIENTS'] ?? 500);
const WARMUP = Number(process.env['PROFILE_WARMUP'] ?? CLIENTS);
const TOP = Number(process.env['PROFILE_TOP'] ?? 30);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const id = Math.random().toString(36).slice(2, 10);
const dir = mkdtempSync(join(tmpdir(), 'gw-heap-'));

interface Child {
  process: ChildProcess;
  url: string;
  lines: ((line: string) => void)[];
}

function start(entry: string, env: Record<string, string>): Promise<Child> {
  const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
  const child = spawn(process.execPath, [...PROBE_NODE_FLAGS, '--import', 'tsx', probe], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      BENCH_ENTRY: join(ROOT, entry),
      BENCH_HEAP_SNAPSHOT_DIR: dir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: ((line: string) => void)[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      for (const listener of lines) listener(line);
      try {
        const parsed = JSON.parse(line) as { port?: number; msg?: string };
        if (parsed.port !== undefined && (parsed.msg === undefined || parsed.msg === 'started')) {
          clearTimeout(timer);
          resolve({ process: child, url: `http://127.0.0.1:${parsed.port}`, lines });
        }
      } catch {}
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}`)));
  });
}

function snapshotOf(child: Child): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no snapshot')), 60_000);
    const listener = (line: string) => {
      if (!line.startsWith('{"memory"')) return;
      clearTimeout(timer);
      child.lines.splice(child.lines.indexOf(listener), 1);
      resolve((JSON.parse(line) as { snapshot: string }).snapshot);
    };
    child.lines.push(listener);
    child.process.kill('SIGUSR2');
  });
}

interface HeapFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self bytes by object kind: the constructor name of objects, else the V8 node type. */
function bytesByKind(path: string): Map<string, { bytes: number; count: number }> {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as HeapFile;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < heap.nodes.length; i += stride) {
    const type = types[heap.nodes[i + typeAt]!]!;
    const name = heap.strings[heap.nodes[i + nameAt]!]!;
    const kind =
      type === 'object' || type === 'native'
        ? `${name}${type === 'native' ? ' (native)' : ''}`
        : type === 'closure'
          ? '(closure)'
          : `(${type})`;
    const entry = out.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[i + sizeAt]!;
    entry.count += 1;
    out.set(kind, entry);
  }
  return out;
}

function perSocket(before: string, after: string, n: number): [string, number, number][] {
  const a = bytesByKind(before);
  const b = bytesByKind(after);
  const rows: [string, number, number][] = [];
  for (const [kind, { bytes, count }] of b) {
    const was = a.get(kind) ?? { bytes: 0, count: 0 };
    rows.push([kind, (bytes - was.bytes) / n, (count - was.count) / n]);
  }
  return rows.sort((x, y) => y[1] - x[1]);
}

function print(title: string, rows: [string, number, number][]): void {
  const total = rows.reduce((sum, [, bytes]) => sum + bytes, 0);
  process.stdout.write(`\n${title}: ${(total / 1024).toFixed(2)} KiB heap per socket (self sizes)\n`);
  for (const [kind, bytes, count] of rows.slice(0, TOP)) {
    process.stdout.write(
      `  ${bytes.toFixed(0).padStart(6)} B  ${count.toFixed(2).padStart(6)} objs  ${kind}\n`,
    );
  }
}

async function connectAll(n: number, open: (i: number) => Promise<Socket>): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 50) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => open(i + j)))));
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const busPrefix = `gwheap${id}`;
const children: Child[] = [];
try {
  const gateway = await start('apps/push-gateway/bench/fake-gateway.ts', {
    TIDELINE_ENV: 'test',
    TIDELINE_LOG_LEVEL: 'info',
    TIDELINE_GATEWAY_PORT: '0',
    TIDELINE_GATEWAY_HOST: '127.0.0.1',
    TIDELINE_BUS_PREFIX: busPrefix,
    TIDELINE_GATEWAY_ADAPTER_KEY: `heap-${id}`,
    TIDELINE_STATEFUL_NAMESPACE: `gwheap-${id}`,
    TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: '1000',
  });
  children.push(gateway);
  const plain = await start('apps/push-gateway/bench/plain-server.ts', {
    BENCH_ADAPTER_KEY: `heap-plain-${id}`,
  });
  children.push(plain);

  // Warm both servers up (connect, subscribe, leave), so code compiled on first use is not
  // counted as a socket's memory.
  const openGateway = async (i: number) => {
    const socket = io(gateway.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token: testToken(`heap-${i}`, ['websites:read']) },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connected', () => resolve());
      socket.once('connect_error', reject);
    });
    const ack = await socket.emitWithAck('request:websites', {});
    if (!ack.ok) throw new Error(`refused: ${JSON.stringify(ack)}`);
    return socket;
  };
  const openPlain = async () => {
    const socket = io(plain.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  };
  for (const s of [
    ...(await connectAll(WARMUP, (i) => openGateway(CLIENTS + i))),
    ...(await connectAll(WARMUP, openPlain)),
  ])
    s.disconnect();
  await sleep(5_000);

  const gBefore = await snapshotOf(gateway);
  const gSockets = await connectAll(CLIENTS, openGateway);
  await sleep(1_000);
  const gAfter = await snapshotOf(gateway);

  const pBefore = await snapshotOf(plain);
  const pSockets = await connectAll(CLIENTS, openPlain);
  await sleep(1_000);
  const pAfter = await snapshotOf(plain);
  for (const s of [...gSockets, ...pSockets]) s.disconnect();

  print(`gateway, ${CLIENTS} sockets subscribed to websites`, perSocket(gBefore, gAfter, CLIENTS));
  print(`plain Socket.IO, ${CLIENTS} sockets in one room`, perSocket(pBefore, pAfter, CLIENTS));
} finally {
  for (const child of children) child.process.kill('SIGKILL');
  if (process.env['PROFILE_KEEP'] === '1') process.stdout.write(`snapshots kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  await removeStreams(busPrefix);
  await removeKeys(`*gwheap-${id}*`);
}
process.exit(0);

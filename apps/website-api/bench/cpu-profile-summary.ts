/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by where the time went: self time per
 * component (HTTP client, Fastify, Node HTTP, JWT, zod, logging, Prisma, pg, …), as a share of the
 * sampled time and as milliseconds per operation when the operation count is given.
 *
 * `tsx bench/cpu-profile-summary.ts <file.cpuprofile> [operations]`
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Component of a frame, by the first pattern its URL (or name) matches; order matters. */
const COMPONENTS: [string, RegExp][] = [
  ['idle', /^\(idle\)$/],
  ['gc', /^\(garbage collector\)$/],
  ['program (native, unattributed)', /^\(program\)$/],
  ['bench client (undici fetch)', /undici|node:internal\/deps\/undici/],
  ['prisma query compiler (wasm)', /^wasm:|query_compiler|\.wasm/],
  ['prisma client runtime', /@prisma\/client|generated\/prisma/],
  ['prisma adapter-pg', /@prisma\/adapter-pg|@prisma\/driver-adapter-utils/],
  ['pg driver', /\/pg\/|pg-protocol|pg-pool|pg-types|postgres-/],
  ['JWT (jose)', /\/jose\/|@tideline\/auth|packages\/auth/],
  ['zod / contracts', /\/zod\/|packages\/contracts/],
  ['logging (pino)', /\/pino|sonic-boom|fast-redact/],
  ['rate limit (+ioredis)', /rate-limit|ioredis|redis-write-counter|redis-parser/],
  ['metrics (prom-client)', /prom-client/],
  ['tracing (otel)', /@opentelemetry/],
  [
    'fastify',
    /fastify|find-my-way|avvio|light-my-request|fast-json-stringify|secure-json-parse|toad-cache|process-warning/,
  ],
  ['tideline runtime', /packages\/runtime/],
  ['website-api', /apps\/website-api/],
  ['bus / nats', /@nats-io|packages\/bus/],
  ['node http/net/streams', /^node:(_http|http|net|stream|internal\/(http|net|stream|streams|js_stream))/],
  ['node timers/promises/async', /^node:internal\/(timers|process\/task_queues|async_hooks|async_local)/],
  ['node other', /^node:/],
  ['tsx loader', /tsx/],
];

function componentOf(frame: CallFrame): string {
  const key = frame.url || frame.functionName;
  for (const [name, pattern] of COMPONENTS) if (pattern.test(key)) return name;
  if (!frame.url) return `native: ${frame.functionName || '(anonymous)'}`;
  return 'other js';
}

const [file, operationsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpu-profile-summary <file.cpuprofile> [operations]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const operations = operationsArg ? Number(operationsArg) : undefined;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const totals = new Map<string, number>();
let busy = 0;
for (const [id, us] of selfUs) {
  const component = componentOf(byId.get(id)!.callFrame);
  totals.set(component, (totals.get(component) ?? 0) + us);
  if (component !== 'idle') busy += us;
}
const wall = profile.endTime - profile.startTime;
console.log(
  `profile ${file}: wall ${(wall / 1000).toFixed(0)} ms, busy (not idle) ${(busy / 1000).toFixed(0)} ms${operations ? `, ${operations} operations` : ''}`,
);
for (const [component, us] of [...totals].sort((a, b) => b[1] - a[1])) {
  if (component === 'idle') continue;
  const share = ((100 * us) / busy).toFixed(1).padStart(5);
  const perOp = operations ? `  ${(us / 1000 / operations).toFixed(3).padStart(7)} ms/op` : '';
  console.log(`${share} %  ${(us / 1000).toFixed(0).padStart(7)} ms${perOp}  ${component}`);
}

/**
 * Bus benchmark: publish → consume throughput and latency (publish timestamp in the payload →
 * handler), each bus beside a bare client loop measured in the same round, with the same settings:
 *   NatsEventBus  vs  bare @nats-io/jetstream: the same file-storage stream, msgIds (broker dedup),
 *                     WINDOW publishes awaiting their ack in flight, one pull consumer with explicit
 *                     acks, `max_ack_pending` = pull batch = PREFETCH, one message handled at a time
 *   KafkaEventBus vs  bare kafkajs: idempotent producer with acks=all, WINDOW sends in flight, one
 *                     consumer (report only: the clients differ)
 * Every message is PAYLOAD_BYTES of JSON on both sides. A round runs two rows per side,
 * interleaved (ours, bare, bare, ours; the reverse in the next round), each row on a stream/topic
 * of its own; a side's figure is its messages over its time. A row waits until its consumer received every
 * message, bounded by ROW_TIMEOUT_MS. Kafka rows are skipped, with a note, when no broker answers
 * (start one: `npm run infra:kafka`).
 *
 * Run: `npm run bench -w @tideline/bus` (env: TIDELINE_BENCH_ROUNDS (default 3), BENCH_MESSAGES,
 * BENCH_KAFKA_MESSAGES, BENCH_WINDOW, BENCH_ONLY=nats|kafka; TIDELINE_NATS_URL,
 * TIDELINE_KAFKA_BROKERS).
 */
import { randomUUID } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { Admin } from '@platformatic/kafka';
import { BenchRun, quantile } from '@tideline/bench';
import { busSettings } from '@tideline/config';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import type { BusOptions, EventBus } from '../src/types.ts';

/** Messages of one row; a round runs two rows per side. */
const NATS_MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 4_000);
const KAFKA_MESSAGES = Number(process.env['BENCH_KAFKA_MESSAGES'] ?? 500);
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 100);
const ONLY = process.env['BENCH_ONLY'];
/** What services get from TIDELINE_BUS_PREFETCH; the bare consumer gets the same. */
const PREFETCH = busSettings.busPrefetch.default!;
const PAYLOAD_BYTES = 256;
const DUPLICATE_WINDOW_MS = 60_000;
const ACK_WAIT_MS = 30_000;
const ROW_TIMEOUT_MS = 15_000;
const WARM_UP_MESSAGES = 500;
const natsUrl = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const runId = randomUUID().replaceAll('-', '').slice(0, 8);

interface Row {
  received: number;
  elapsedMs: number;
  latencies: number[];
  timedOut: boolean;
}

/** Collects one latency per message id; resolves when all arrived or the row's time is up. */
class Collector {
  readonly latencies: number[] = [];
  private readonly seen = new Set<number>();
  private done: (() => void) | undefined;
  readonly finished = new Promise<void>((resolve) => {
    this.done = resolve;
  });
  lastAt = 0;

  constructor(readonly expected: number) {}

  record(payload: Uint8Array): void {
    const { i, t } = JSON.parse(Buffer.from(payload).toString()) as { i: number; t: number };
    if (this.seen.has(i)) return;
    this.seen.add(i);
    this.lastAt = performance.now();
    this.latencies.push(this.lastAt - t);
    if (this.seen.size >= this.expected) this.done?.();
  }

  get count(): number {
    return this.seen.size;
  }
}

/** PAYLOAD_BYTES of JSON carrying the message number and its publish time. */
function payload(i: number): Buffer {
  const head = JSON.stringify({ i, t: performance.now(), pad: '' });
  return Buffer.from(`${head.slice(0, -2)}${'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length))}"}`);
}

/** Publishes `count` payloads with at most WINDOW awaiting their ack. */
async function publishAll(count: number, publish: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await publish(next++);
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

async function measure(
  count: number,
  body: (collector: Collector) => Promise<() => Promise<void>>,
): Promise<Row> {
  const collector = new Collector(count);
  const start = performance.now();
  const cleanup = await body(collector);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ROW_TIMEOUT_MS);
  });
  const outcome = await Promise.race([collector.finished.then(() => 'ok' as const), timeout]);
  clearTimeout(timer);
  const elapsedMs = (collector.count > 0 ? collector.lastAt : performance.now()) - start;
  await cleanup();
  return {
    received: collector.count,
    elapsedMs,
    latencies: collector.latencies,
    timedOut: outcome === 'timeout',
  };
}

function busOptions(prefix: string): BusOptions {
  return {
    prefix,
    topics: [{ name: 'bench', subjects: 'bench.>' }],
    maxDeliveries: 5,
    backoff: { initialMs: 100, maxMs: 1_000 },
    ackWaitMs: ACK_WAIT_MS,
    retentionMs: 3_600_000,
    duplicateWindowMs: DUPLICATE_WINDOW_MS,
    prefetch: PREFETCH,
  };
}

async function ourBus(bus: EventBus, count: number): Promise<Row> {
  await bus.start();
  try {
    return await measure(count, async (collector) => {
      await bus.subscribe({ topic: 'bench', group: 'bench', handler: (m) => collector.record(m.data) });
      await publishAll(count, (i) => bus.publish('bench.event', payload(i), { msgId: `m${i}` }));
      return async () => {};
    });
  } finally {
    await bus.drain();
  }
}

async function ourNats(round: number, count = NATS_MESSAGES): Promise<Row> {
  const prefix = `bn${runId}r${round}`;
  try {
    return await ourBus(new NatsEventBus({ ...busOptions(prefix), servers: natsUrl }), count);
  } finally {
    await removeNatsStreams(prefix);
  }
}

async function bareJetStream(round: number, count = NATS_MESSAGES): Promise<Row> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `benchbare${runId}r${round}`;
  await jsm.streams.add({
    name: stream,
    subjects: [`${stream}.>`],
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  const js = jetstream(nc);
  try {
    return await measure(count, async (collector) => {
      await jsm.consumers.add(stream, {
        durable_name: 'bench',
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ACK_WAIT_MS),
        max_ack_pending: PREFETCH,
      });
      const consumer = await js.consumers.get(stream, 'bench');
      const messages = await consumer.consume({ max_messages: PREFETCH });
      const loop = (async () => {
        for await (const m of messages) {
          collector.record(m.data);
          m.ack();
        }
      })();
      await publishAll(count, (i) => js.publish(`${stream}.event`, payload(i), { msgID: `m${i}` }));
      return async () => {
        await messages.close();
        await loop;
      };
    });
  } finally {
    await jsm.streams.delete(stream).catch(() => false);
    await nc.drain();
  }
}

async function ourKafka(round: number): Promise<Row> {
  const prefix = `bk${runId}r${round}`;
  try {
    return await ourBus(
      new KafkaEventBus({ ...busOptions(prefix), brokers: kafkaBrokers, clientId: 'bench' }),
      KAFKA_MESSAGES,
    );
  } finally {
    await removeKafkaTopics(prefix);
  }
}

async function bareKafkajs(round: number): Promise<Row> {
  const kafka = new Kafka({ clientId: 'bench-bare', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
  const topic = `benchbare${runId}r${round}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  try {
    return await measure(KAFKA_MESSAGES, async (collector) => {
      const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => collector.record(message.value ?? Buffer.alloc(0)),
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await publishAll(KAFKA_MESSAGES, (i) =>
        producer.send({ topic, acks: -1, messages: [{ value: payload(i) }] }),
      );
      return async () => {
        await producer.disconnect();
        await consumer.disconnect();
      };
    });
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

function kafkaAnswers(): Promise<boolean> {
  const [host, port] = kafkaBrokers[0]!.split(':');
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: host!, port: Number(port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function removeKafkaTopics(prefix: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-cleanup', bootstrapBrokers: kafkaBrokers });
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}_`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.close();
  }
}

async function removeNatsStreams(prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names())
      if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

const rate = (row: Row) => (row.received / row.elapsedMs) * 1000;
const p50 = (row: Row) => quantile(row.latencies, 0.5);

const run = new BenchRun({
  bench: 'bus',
  description: `Publish → consume through the bus vs the bare client, same settings (${WINDOW} publishes in flight, prefetch ${PREFETCH}, ${PAYLOAD_BYTES}-byte messages, msgIds, explicit acks), row order alternating per round`,
});
run.define(
  {
    id: 'nats.throughput',
    label: `NatsEventBus publish→consume, 2 × ${NATS_MESSAGES} msgs`,
    unit: 'msg/s',
    better: 'higher',
    baseline: 'bare @nats-io/jetstream, same settings',
    goal: 0.9,
    goalNote: 'issue 17',
  },
  {
    id: 'nats.p50',
    label: 'NatsEventBus publish→handler latency p50',
    unit: 'ms',
    better: 'lower',
    baseline: 'bare @nats-io/jetstream p50',
  },
  {
    id: 'kafka.throughput',
    label: `KafkaEventBus publish→consume, 2 × ${KAFKA_MESSAGES} msgs`,
    unit: 'msg/s',
    better: 'higher',
    baseline: 'bare kafkajs (idempotent, acks=all)',
  },
  {
    id: 'kafka.p50',
    label: 'KafkaEventBus publish→handler latency p50',
    unit: 'ms',
    better: 'lower',
    baseline: 'bare kafkajs p50',
  },
);

/** Rows of one side joined: messages over the time they took, and every latency. */
function joined(rows: Row[]): Row {
  return {
    received: rows.reduce((sum, r) => sum + r.received, 0),
    elapsedMs: rows.reduce((sum, r) => sum + r.elapsedMs, 0),
    latencies: rows.flatMap((r) => r.latencies),
    timedOut: rows.some((r) => r.timedOut),
  };
}

/**
 * One round of a pair: the two sides interleaved as ours, bare, bare, ours (odd rounds) or
 * bare, ours, ours, bare (even rounds), so a burst of load from elsewhere on the machine falls on
 * both sides alike. Returns [ours, bare], each its two rows joined.
 */
async function pair(
  round: number,
  ours: (row: number) => Promise<Row>,
  bare: (row: number) => Promise<Row>,
): Promise<[Row, Row]> {
  const sides = { ours: [] as Row[], bare: [] as Row[] };
  const order =
    round % 2 === 1
      ? (['ours', 'bare', 'bare', 'ours'] as const)
      : (['bare', 'ours', 'ours', 'bare'] as const);
  for (const [row, side] of order.entries()) {
    const id = round * 10 + row;
    sides[side].push(await (side === 'ours' ? ours(id) : bare(id)));
  }
  return [joined(sides.ours), joined(sides.bare)];
}

function recordPair(name: 'nats' | 'kafka', round: number, [ours, bare]: [Row, Row]): void {
  run.record(`${name}.throughput`, rate(ours), rate(bare));
  run.record(`${name}.p50`, p50(ours), p50(bare));
  for (const [side, row] of [
    ['ours', ours],
    ['bare', bare],
  ] as const) {
    if (row.timedOut)
      run.note(
        `round ${round} ${name} ${side}: timed out after ${ROW_TIMEOUT_MS} ms with ${row.received} received`,
      );
  }
}

const kafkaUp = ONLY !== 'nats' && (await kafkaAnswers());
if (ONLY !== 'nats' && !kafkaUp)
  run.note(`Kafka rows skipped: no broker answers at ${kafkaBrokers.join(',')} (npm run infra:kafka)`);
if (ONLY !== 'kafka') {
  // Not recorded: compiles both paths and opens the broker's files, so round 1 starts warm on both sides.
  await ourNats(0, WARM_UP_MESSAGES);
  await bareJetStream(0, WARM_UP_MESSAGES);
}
for (const round of run.rounds()) {
  if (ONLY !== 'kafka') recordPair('nats', round, await pair(round, ourNats, bareJetStream));
  if (kafkaUp) recordPair('kafka', round, await pair(round, ourKafka, bareKafkajs));
}
run.note(
  `Node ${process.version}; one subscriber at concurrency 1 on each side; the bare clients run with their defaults (NatsEventBus connects with noAsyncTraces and writes the acks of one event-loop turn together)`,
);
await run.finish();
process.exit(0);

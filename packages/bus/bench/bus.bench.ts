/**
 * Bus benchmark: publish → consume throughput and latency (publish timestamp in the payload →
 * handler), for our buses next to bare client loops measured in the same run:
 *   NatsEventBus  vs  a bare @nats-io/jetstream publish/consume loop
 *   KafkaEventBus vs  a bare kafkajs produce/consume loop (and, for reference, a bare loop of
 *                     @platformatic/kafka, the client the Kafka bus is built on)
 * Each row publishes MESSAGES messages with at most WINDOW publishes in flight and waits until a
 * consumer (one subscriber, default concurrency) received them all, bounded by ROW_TIMEOUT_MS.
 * Kafka rows are skipped, with a note, when no broker answers (start one: `npm run infra:kafka`).
 *
 * Run: `npm run bench -w @tideline/bus` (env: BENCH_MESSAGES, BENCH_WINDOW; NATS / Kafka URLs as
 * TIDELINE_NATS_URL / TIDELINE_KAFKA_BROKERS).
 */
import { randomUUID } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Admin, Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { busSettings } from '@tideline/config';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import type { BusOptions, EventBus } from '../src/types.ts';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 5_000);
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 100);
const ROW_TIMEOUT_MS = 12_000;
const natsUrl = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const runId = randomUUID().replaceAll('-', '').slice(0, 8);

interface Row {
  name: string;
  received: number;
  elapsedMs: number;
  latencies: number[];
  note?: string;
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

  record(payload: Uint8Array | Buffer): void {
    const { i, t } = JSON.parse(Buffer.from(payload).toString()) as { i: number; t: number };
    if (this.seen.has(i)) return;
    this.seen.add(i);
    this.lastAt = performance.now();
    this.latencies.push(this.lastAt - t);
    if (this.seen.size >= MESSAGES) this.done?.();
  }

  get count(): number {
    return this.seen.size;
  }
}

const payload = (i: number) => Buffer.from(JSON.stringify({ i, t: performance.now() }));

/** Publishes MESSAGES payloads with at most WINDOW in flight. */
async function publishAll(publish: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < MESSAGES) await publish(next++);
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

async function measure(
  name: string,
  body: (collector: Collector) => Promise<() => Promise<void>>,
): Promise<Row> {
  const collector = new Collector();
  const start = performance.now();
  const cleanup = await body(collector);
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), ROW_TIMEOUT_MS).unref(),
  );
  const outcome = await Promise.race([collector.finished.then(() => 'ok' as const), timeout]);
  const elapsedMs = (collector.count > 0 ? collector.lastAt : performance.now()) - start;
  await cleanup();
  return {
    name,
    received: collector.count,
    elapsedMs,
    latencies: collector.latencies,
    ...(outcome === 'timeout' ? { note: `timed out after ${ROW_TIMEOUT_MS} ms` } : {}),
  };
}

function busOptions(prefix: string): BusOptions {
  return {
    prefix,
    topics: [{ name: 'bench', subjects: 'bench.>' }],
    maxDeliveries: 5,
    backoff: { initialMs: 100, maxMs: 1_000 },
    ackWaitMs: 30_000,
    retentionMs: 3_600_000,
    duplicateWindowMs: 60_000,
    // What services get from TIDELINE_BUS_PREFETCH.
    prefetch: busSettings.busPrefetch.default!,
  };
}

async function ourBus(name: string, bus: EventBus): Promise<Row> {
  await bus.start();
  return measure(name, async (collector) => {
    await bus.subscribe({ topic: 'bench', group: 'bench', handler: (m) => collector.record(m.data) });
    await publishAll((i) => bus.publish('bench.event', payload(i), { msgId: `m${i}` }));
    return () => bus.drain();
  });
}

async function bareJetStream(): Promise<Row> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `benchbare${runId}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  const js = jetstream(nc);
  try {
    return await measure('bare @nats-io/jetstream', async (collector) => {
      await jsm.consumers.add(stream, {
        durable_name: 'bench',
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
      const consumer = await js.consumers.get(stream, 'bench');
      const messages = await consumer.consume();
      const loop = (async () => {
        for await (const m of messages) {
          collector.record(m.data);
          m.ack();
        }
      })();
      await publishAll((i) => js.publish(`${stream}.event`, payload(i)));
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

async function bareKafkajs(): Promise<Row> {
  const kafka = new Kafka({ clientId: 'bench-bare', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
  const topic = `benchbare${runId}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  try {
    return await measure('bare kafkajs', async (collector) => {
      const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => collector.record(message.value ?? Buffer.alloc(0)),
      });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await publishAll((i) => producer.send({ topic, acks: -1, messages: [{ value: payload(i) }] }));
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

/** The client our Kafka bus is built on, used bare: one send per message, autocommitting stream. */
async function barePlatformatic(): Promise<Row> {
  const topic = `benchplt${runId}`;
  const admin = new Admin({ clientId: 'bench-plt', bootstrapBrokers: kafkaBrokers });
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  try {
    const row = await measure('bare @platformatic/kafka', async (collector) => {
      const consumer = new Consumer({
        clientId: 'bench-plt',
        groupId: `${topic}-g`,
        bootstrapBrokers: kafkaBrokers,
        maxWaitTime: 100,
      });
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1_000 });
      stream.on('data', (message) => collector.record(message.value));
      const producer = new Producer({
        clientId: 'bench-plt',
        bootstrapBrokers: kafkaBrokers,
        idempotent: true,
        acks: ProduceAcks.ALL,
      });
      await publishAll((i) => producer.send({ messages: [{ topic, value: payload(i) }] }));
      return async () => {
        await producer.close();
        await stream.close();
        await consumer.close(true);
      };
    });
    const [listed] = await admin.listOffsets({
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    const stored = Number(listed?.partitions[0]?.offset ?? 0n);
    if (stored < MESSAGES) {
      row.note = `all ${MESSAGES} sends resolved but the topic holds ${stored} records (concurrent idempotent sends; the bus keeps one produce request in flight)`;
    }
    return row;
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.close();
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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function describeRow(row: Row) {
  const sorted = [...row.latencies].sort((a, b) => a - b);
  return {
    rate: (row.received / row.elapsedMs) * 1000,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

type Pair = { ours: Row; bare: Row; more?: Row[] } | { skipped: string };

function printTable(pairs: Pair[]): void {
  const header = [
    'transport',
    'received',
    'msgs/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'ours/bare msgs/s',
    'ours/bare p50',
  ];
  const lines: string[][] = [header];
  const notes: string[] = [];
  const line = (row: Row, ratios: [string, string]) => {
    const d = describeRow(row);
    lines.push([
      row.name,
      `${row.received}/${MESSAGES}`,
      d.rate.toFixed(0),
      d.p50.toFixed(2),
      d.p95.toFixed(2),
      d.p99.toFixed(2),
      ...ratios,
    ]);
    if (row.note) notes.push(`${row.name}: ${row.note}`);
  };
  for (const pair of pairs) {
    if ('skipped' in pair) {
      notes.push(pair.skipped);
      continue;
    }
    const ours = describeRow(pair.ours);
    const bare = describeRow(pair.bare);
    line(pair.ours, [(ours.rate / bare.rate).toFixed(2), (ours.p50 / bare.p50).toFixed(2)]);
    line(pair.bare, ['', '']);
    for (const row of pair.more ?? []) line(row, ['', '']);
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const format = (l: string[]) =>
    l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(lines[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines.slice(1)) console.log(format(l));
  for (const note of notes) console.log(`note: ${note}`);
}

async function main(): Promise<void> {
  console.log(
    `bus benchmark: ${MESSAGES} messages per row, ${WINDOW} publishes in flight, one subscriber (default concurrency), Node ${process.version}`,
  );
  const started = performance.now();
  const natsPrefix = `bn${runId}`;
  const ourNats = await ourBus(
    'NatsEventBus',
    new NatsEventBus({ ...busOptions(natsPrefix), servers: natsUrl }),
  );
  await removeNatsStreams(natsPrefix);
  const bareNats = await bareJetStream();
  const pairs: Pair[] = [{ ours: ourNats, bare: bareNats }];

  if (await kafkaAnswers()) {
    const kafkaPrefix = `bk${runId}`;
    const ourKafka = await ourBus(
      'KafkaEventBus',
      new KafkaEventBus({ ...busOptions(kafkaPrefix), brokers: kafkaBrokers, clientId: 'bench' }),
    );
    await removeKafkaTopics(kafkaPrefix);
    pairs.push({ ours: ourKafka, bare: await bareKafkajs(), more: [await barePlatformatic()] });
  } else {
    pairs.push({
      skipped: `Kafka rows skipped: no broker answers at ${kafkaBrokers.join(',')} (npm run infra:kafka)`,
    });
  }
  printTable(pairs);
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
process.exit(0);

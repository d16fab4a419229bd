import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { removeStreams } from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import { eventually } from '../src/testing/wait.ts';
import type { BusOptions, EventBus } from '../src/types.ts';
import type { UnackingConsumerConfig } from './support/unacking-consumer-config.ts';
import { UnackingConsumerProcess } from './support/unacking-consumer-process.ts';

/**
 * "A consumer that dies holding unacknowledged messages" (issue 13): a group member in a child
 * process receives messages, never settles them and is killed with SIGKILL. The group's other
 * member must then receive every one of them: over NATS once the ack wait expires (JetStream
 * redelivers what was never acked), over Kafka after the group rebalance (the dead member never
 * committed past them). What Redis Streams calls pending-entry reclaim.
 */

const NATS_URL = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const KAFKA_BROKERS = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const MESSAGES = 40;
const ACK_WAIT_MS = 2_000;
const CHILD_READY_TIMEOUT_MS = 30_000;
/** Bounds of polls on a busy machine; the test waits for conditions, these only stop a hang. */
const HOLD_TIMEOUT_MS = 30_000;
const RECLAIM_TIMEOUT_MS = 60_000;
const KAFKA_TIMINGS = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, fetchMaxWaitMs: 100 };

const TOPIC = 'jobs';
const GROUP = 'workers';

function busOptions(prefix: string): BusOptions {
  return {
    prefix,
    topics: [{ name: TOPIC, subjects: 'job.>' }],
    maxDeliveries: 100,
    backoff: { initialMs: 50, maxMs: 200 },
    ackWaitMs: ACK_WAIT_MS,
    retentionMs: 3_600_000,
    duplicateWindowMs: 60_000,
  };
}

interface Transport {
  name: 'nats' | 'kafka';
  servers: string[];
  open(prefix: string, clientId: string): EventBus;
  /** Whether the survivor may join before the death (Kafka: joining forces a rebalance with the live member). */
  survivorJoinsBeforeDeath: boolean;
  cleanup(prefix: string): Promise<void>;
}

const nats: Transport = {
  name: 'nats',
  servers: [NATS_URL],
  open: (prefix, name) => new NatsEventBus({ ...busOptions(prefix), servers: NATS_URL, name }),
  survivorJoinsBeforeDeath: true,
  cleanup: (prefix) => removeStreams(prefix, NATS_URL),
};

const kafka: Transport = {
  name: 'kafka',
  servers: KAFKA_BROKERS,
  open: (prefix, clientId) =>
    new KafkaEventBus({ ...busOptions(prefix), ...KAFKA_TIMINGS, brokers: KAFKA_BROKERS, clientId }),
  survivorJoinsBeforeDeath: false,
  cleanup: async (prefix) => {
    const admin = new Admin({ clientId: 'consumer-death-cleanup', bootstrapBrokers: KAFKA_BROKERS });
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}_`));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${prefix}_`));
      if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
    } finally {
      await admin.close();
    }
  },
};

describe.each([nats, kafka])('bus over $name: consumer death', (transport) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it(`consumer death - a member killed (SIGKILL) holding unacknowledged messages: the group's other member receives every one (${transport.name})`, async () => {
    const prefix = `cd${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    cleanups.push(() => transport.cleanup(prefix));
    const publisher = transport.open(prefix, 'consumer-death-publisher');
    await publisher.start();
    cleanups.push(() => publisher.drain());

    const config: UnackingConsumerConfig = {
      transport: transport.name,
      servers: transport.servers,
      bus: busOptions(prefix),
      kafka: KAFKA_TIMINGS,
      topic: TOPIC,
      group: GROUP,
      hold: MESSAGES,
    };
    const doomed = await UnackingConsumerProcess.start(config, CHILD_READY_TIMEOUT_MS);
    cleanups.push(() => doomed.kill());

    const published: string[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const msgId = `job-${i}`;
      await publisher.publish(`job.${i % 4}`, { i }, { msgId, key: 'one-queue' });
      published.push(msgId);
    }
    // The doomed member holds every message: handed to its handler, never settled.
    expect(await eventually(() => doomed.received.length >= MESSAGES, HOLD_TIMEOUT_MS, 20)).toBe(true);
    expect([...doomed.received].sort()).toEqual([...published].sort());

    const survivor = transport.open(prefix, 'consumer-death-survivor');
    await survivor.start();
    cleanups.push(() => survivor.drain());
    const reclaimed: { msgId: string; deliveryCount: number }[] = [];
    const join = () =>
      survivor.subscribe({
        topic: TOPIC,
        group: GROUP,
        prefetch: MESSAGES,
        handler: (m) => void reclaimed.push({ msgId: m.msgId, deliveryCount: m.deliveryCount }),
      });
    if (transport.survivorJoinsBeforeDeath) await join();

    await doomed.kill();
    const diedAt = performance.now();
    if (!transport.survivorJoinsBeforeDeath) await join();

    const all = () => new Set(reclaimed.map((r) => r.msgId)).size >= MESSAGES;
    expect(await eventually(all, RECLAIM_TIMEOUT_MS, 20)).toBe(true);
    console.log(
      `consumer death (${transport.name}): ${MESSAGES} held messages reclaimed ${Math.round(performance.now() - diedAt)} ms after SIGKILL`,
    );

    // None lost, none handled twice by the survivor, and in publish order (one ordering key).
    expect(reclaimed.map((r) => r.msgId)).toEqual(published);
    // Over NATS the server counted the dead member's delivery: these are redeliveries.
    if (transport.name === 'nats') expect(reclaimed.every((r) => r.deliveryCount >= 2)).toBe(true);
  }, 120_000);
});

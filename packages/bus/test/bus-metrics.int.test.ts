import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Admin } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { createBusMetrics } from '../src/metrics.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import { eventually } from '../src/testing/wait.ts';
import type { BusOptions, EventBus } from '../src/types.ts';

const natsServers = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const kafkaTimings = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  fetchMaxWaitMs: 100,
  retryDelayMs: 100,
};
const WAIT_MS = 30_000;
const LAG_SAMPLE_TIMEOUT_MS = 5_000;

interface Target {
  name: string;
  create(options: BusOptions): EventBus;
  destroy(prefix: string): Promise<void>;
}

const targets: Target[] = [
  {
    name: 'nats',
    create: (options) => new NatsEventBus({ ...options, servers: natsServers }),
    destroy: async (prefix) => {
      const nc = await connect({ servers: natsServers });
      try {
        const jsm = await jetstreamManager(nc);
        for await (const name of jsm.streams.names())
          if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
      } finally {
        await nc.close();
      }
    },
  },
  {
    name: 'kafka',
    create: (options) =>
      new KafkaEventBus({ ...options, ...kafkaTimings, brokers: kafkaBrokers, clientId: 'metrics' }),
    destroy: async (prefix) => {
      const admin = new Admin({ clientId: 'metrics-cleanup', bootstrapBrokers: kafkaBrokers });
      try {
        const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}_`));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
        const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${prefix}_`));
        if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
      } finally {
        await admin.close();
      }
    },
  },
];

/** Value of one series of the registry (0 when absent). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}

describe.each(targets)('bus metrics on $name', (target) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open() {
    const prefix = `m${randomUUID().slice(0, 8)}`;
    const registry = new Registry();
    const metrics = createBusMetrics({ registry, lagSampleTimeoutMs: LAG_SAMPLE_TIMEOUT_MS });
    const bus = target.create({
      prefix,
      topics: [{ name: 'orders', subjects: 'order.>' }],
      maxDeliveries: 3,
      backoff: { initialMs: 20, maxMs: 50 },
      ackWaitMs: 5_000,
      retentionMs: 3_600_000,
      duplicateWindowMs: 60_000,
      observer: metrics.observer,
    });
    cleanups.push(() => target.destroy(prefix));
    await bus.start();
    cleanups.push(() => bus.drain());
    metrics.watch(bus);
    return { bus, registry };
  }

  it(
    'dead letters - each dead-lettered message is counted once, with its topic, group and cause',
    async () => {
      const { bus, registry } = await open();
      const seen = new Map<string, number>();
      await bus.subscribe({
        topic: 'orders',
        group: 'billing',
        handler: (message) => {
          const count = (seen.get(message.msgId) ?? 0) + 1;
          seen.set(message.msgId, count);
          if (message.msgId === 'poison') return 'reject';
          if (message.msgId === 'flaky' && count === 1) return 'retry';
          if (message.msgId === 'hopeless') throw new Error('always fails');
          return 'ack';
        },
      });
      for (const msgId of ['fine', 'poison', 'flaky', 'hopeless'])
        await bus.publish('order.created', { msgId }, { msgId, key: 'k' });
      await bus.publish('order.created', { msgId: 'fine' }, { msgId: 'fine', key: 'k' });

      const dead = (cause: string) =>
        sample(registry, 'tideline_bus_dead_letters_total', { topic: 'orders', group: 'billing', cause });
      expect(
        await eventually(
          async () => (await dead('rejected')) === 1 && (await dead('max_deliveries')) === 1,
          WAIT_MS,
          50,
        ),
      ).toBe(true);
      expect(
        await eventually(
          async () =>
            (await sample(registry, 'tideline_bus_deliveries_total', {
              topic: 'orders',
              group: 'billing',
              outcome: 'ack',
            })) === 2,
          WAIT_MS,
          50,
        ),
      ).toBe(true);
      // flaky came back once; hopeless came back twice before its third and last delivery.
      expect(
        await sample(registry, 'tideline_bus_redeliveries_total', { topic: 'orders', group: 'billing' }),
      ).toBe(3);
      expect(await sample(registry, 'tideline_bus_published_total', { topic: 'orders', outcome: 'ok' })).toBe(
        4,
      );
      expect(
        await sample(registry, 'tideline_bus_published_total', { topic: 'orders', outcome: 'duplicate' }),
      ).toBe(1);
      expect(await dead('rejected')).toBe(1);
    },
    WAIT_MS * 3,
  );

  it(
    'consumer lag - a group that does not keep up shows what the broker still holds for it, and 0 once caught up',
    async () => {
      const { bus, registry } = await open();
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      await bus.subscribe({ topic: 'orders', group: 'slow', prefetch: 1, handler: () => released });
      for (let i = 1; i <= 4; i++) await bus.publish('order.created', { i }, { msgId: `o${i}`, key: 'k' });
      const lag = () =>
        sample(registry, 'tideline_bus_consumer_lag_messages', { topic: 'orders', group: 'slow' });
      expect(await eventually(async () => (await lag()) >= 3, WAIT_MS, 100)).toBe(true);
      release();
      expect(await eventually(async () => (await lag()) === 0, WAIT_MS, 100)).toBe(true);
      const text = await registry.metrics();
      expect(text).toMatch(/^tideline_bus_consumer_lag_messages\{topic="orders",group="slow"\} 0$/m);
    },
    WAIT_MS * 3,
  );
});

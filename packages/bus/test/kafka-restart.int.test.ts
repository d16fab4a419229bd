import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import { eventually, sleep } from '../src/testing/wait.ts';
import type { BusOptions } from '../src/types.ts';
import { PrivateKafkaBroker } from './support/private-broker.ts';

const EVENTS = 240;
const KILL_AT = 80;
const PUBLISH_EVERY_MS = 10;
const STREAM_DEADLINE_MS = 60_000;

const busOptions = (brokers: string[]) => ({
  prefix: 'restart',
  topics: [{ name: 'orders', subjects: 'order.>' }],
  maxDeliveries: 1_000,
  backoff: { initialMs: 50, maxMs: 200 },
  ackWaitMs: 5_000,
  retentionMs: 3_600_000,
  duplicateWindowMs: 60_000,
  brokers,
  requestTimeoutMs: 2_000,
  retryDelayMs: 200,
  retries: 2,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  fetchMaxWaitMs: 100,
  healthCheckMs: 200,
});

describe('Kafka bus: broker restart', () => {
  let broker: PrivateKafkaBroker;

  beforeAll(async () => {
    broker = await PrivateKafkaBroker.start({ startTimeoutSeconds: 60, heapOpts: '-Xms128m -Xmx512m' });
  }, 90_000);

  afterAll(async () => {
    await broker?.destroy();
  });

  it('restart - a broker killed mid-stream loses nothing acknowledged and consumers resume', async () => {
    const options: BusOptions & { brokers: string[] } = busOptions(broker.brokers);
    const publisher = new KafkaEventBus({ ...options, clientId: 'restart-publisher' });
    const consumer = new KafkaEventBus({ ...options, clientId: 'restart-consumer' });
    await publisher.start();
    await consumer.start();
    try {
      const received: string[] = [];
      await consumer.subscribe({
        topic: 'orders',
        group: 'survivors',
        handler: (m) => void received.push(m.msgId),
      });

      const acked: { msgId: string; position: number; afterRestart: boolean }[] = [];
      let failed = 0;
      let restarted = false;
      let outage: Promise<void> | undefined;
      let sawUnhealthy = false;
      let healthyAgain: Promise<unknown> | undefined;
      const deadline = Date.now() + STREAM_DEADLINE_MS;
      for (let i = 0; i < EVENTS && Date.now() < deadline; i++) {
        if (i === KILL_AT) {
          await broker.kill();
          outage = (async () => {
            await sleep(1_000);
            sawUnhealthy = !publisher.healthy() || !consumer.healthy();
            healthyAgain = Promise.all([publisher.untilHealthy(), consumer.untilHealthy()]);
            await broker.start();
            restarted = true;
          })();
        }
        const msgId = `e${i}`;
        try {
          const receipt = await publisher.publish('order.created', { i }, { msgId, key: 'one-order' });
          acked.push({ msgId, position: receipt.position, afterRestart: restarted });
        } catch {
          failed++;
        }
        await sleep(PUBLISH_EVERY_MS);
      }
      await outage;

      // The outage was real: publishes failed during it, the buses saw it, and the stream went on after it.
      expect(failed).toBeGreaterThan(0);
      expect(sawUnhealthy).toBe(true);
      expect(acked.filter((a) => a.afterRestart).length).toBeGreaterThan(20);
      // The buses say so themselves once the broker answers again (a wait that never ended would time the test out).
      await healthyAgain;
      expect(await eventually(() => publisher.healthy() && consumer.healthy(), 10_000)).toBe(true);

      // Every acknowledged event reaches the consumer group, in publish order (first deliveries).
      const ackedIds = acked.map((a) => a.msgId);
      const all = () => {
        const got = new Set(received);
        return ackedIds.every((id) => got.has(id));
      };
      expect(await eventually(all, 30_000, 50)).toBe(true);
      const firstSeen = [...new Set(received)].filter((id) => ackedIds.includes(id));
      expect(firstSeen).toEqual(ackedIds);

      // And each one is stored at the position its receipt named.
      const stored = await consumer.read({ topic: 'orders', from: 1, limit: EVENTS * 2 });
      const byPosition = new Map(stored.map((m) => [m.position, m.msgId]));
      for (const a of acked) expect(byPosition.get(a.position)).toBe(a.msgId);
    } finally {
      await Promise.allSettled([publisher.drain(), consumer.drain()]);
    }
  }, 120_000);
});

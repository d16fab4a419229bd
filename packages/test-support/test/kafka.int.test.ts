import { KafkaEventBus } from '@tideline/bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisposableKafka } from '../src/kafka.ts';
import { waitForPort } from '../src/ports.ts';

const START_TIMEOUT_SECONDS = 90;
const REFUSED_WITHIN_MS = 1_000;

const busOptions = (brokers: string[]) => ({
  prefix: 'disposable',
  topics: [{ name: 'kept', subjects: 'kept.>' }],
  maxDeliveries: 5,
  backoff: { initialMs: 50, maxMs: 200 },
  ackWaitMs: 5_000,
  retentionMs: 3_600_000,
  duplicateWindowMs: 60_000,
  brokers,
  requestTimeoutMs: 5_000,
  retryDelayMs: 200,
  retries: 3,
  healthCheckMs: 200,
});

describe('DisposableKafka', () => {
  let kafka: DisposableKafka;

  beforeAll(
    async () => {
      kafka = await DisposableKafka.start({ startTimeoutSeconds: START_TIMEOUT_SECONDS });
      console.log(`private Kafka: first start (format + JVM) ${kafka.lastStartMs} ms`);
    },
    (START_TIMEOUT_SECONDS + 60) * 1000,
  );

  afterAll(async () => {
    await kafka?.[Symbol.asyncDispose]();
  });

  it(
    'restart - a killed private broker comes back on its port with its topics and messages',
    async () => {
      const publisher = new KafkaEventBus({ ...busOptions(kafka.brokers), clientId: 'disposable-publisher' });
      await publisher.start();
      const before = await publisher.publish('kept.one', { n: 1 }, { msgId: 'kept-1' });
      await publisher.drain();

      await kafka.stop();
      expect(kafka.running).toBe(false);
      await expect(waitForPort(kafka.port, REFUSED_WITHIN_MS)).rejects.toThrow(/nothing listens/);

      await kafka.start();
      console.log(`private Kafka: restart on kept data ${kafka.lastStartMs} ms`);
      expect(kafka.running).toBe(true);
      const reader = new KafkaEventBus({ ...busOptions(kafka.brokers), clientId: 'disposable-reader' });
      await reader.start();
      try {
        const stored = await reader.read({ topic: 'kept', from: 1, limit: 10 });
        expect(stored.map((m) => [m.position, m.msgId])).toEqual([[before.position, 'kept-1']]);
      } finally {
        await reader.drain();
      }
    },
    (START_TIMEOUT_SECONDS + 60) * 2000,
  );
});

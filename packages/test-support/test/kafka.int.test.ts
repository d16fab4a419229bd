import { KafkaEventBus } from '@tideline/bus';
import { eventually } from '@tideline/bus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisposableKafka } from '../src/kafka.ts';
import { restartablePort, waitForPort } from '../src/ports.ts';
import { FaultProxy } from '../src/proxy.ts';

const START_TIMEOUT_SECONDS = 90;
const REFUSED_WITHIN_MS = 1_000;
/** Bound of a poll for a client to notice the partition or its end; not a speed claim. */
const NOTICE_TIMEOUT_MS = 30_000;

const busOptions = (brokers: string[]) => ({
  prefix: 'disposable',
  topics: [
    { name: 'kept', subjects: 'kept.>' },
    { name: 'parted', subjects: 'parted.>' },
  ],
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
  let proxy: FaultProxy;

  beforeAll(
    async () => {
      const listenerPort = await restartablePort();
      proxy = await FaultProxy.to(listenerPort);
      kafka = await DisposableKafka.start({
        startTimeoutSeconds: START_TIMEOUT_SECONDS,
        proxiedListener: { port: listenerPort, advertisedPort: proxy.port },
      });
      console.log(`private Kafka: first start (format + JVM) ${kafka.lastStartMs} ms`);
    },
    (START_TIMEOUT_SECONDS + 60) * 1000,
  );

  afterAll(async () => {
    await kafka?.[Symbol.asyncDispose]();
    await proxy?.[Symbol.asyncDispose]();
  });

  it('partition - a client bootstrapped on the proxied listener loses the broker (and reports unhealthy) when the proxy is cut, others keep it', async () => {
    const proxied = new KafkaEventBus({
      ...busOptions([`127.0.0.1:${proxy.port}`]),
      clientId: 'disposable-proxied',
    });
    const direct = new KafkaEventBus({ ...busOptions(kafka.brokers), clientId: 'disposable-direct' });
    await proxied.start();
    await direct.start();
    try {
      await proxied.publish('parted.one', { n: 0 }, { msgId: 'p-0' });
      proxy.cut();
      // Over the cut the proxied client cannot store anything (its publish stalls or fails) ...
      let stored = false;
      const during = proxied.publish('parted.one', { n: 1 }, { msgId: 'p-1' }).then(
        () => {
          stored = true;
        },
        () => undefined,
      );
      // ... and says it is not healthy ...
      expect(await eventually(() => !proxied.healthy(), NOTICE_TIMEOUT_MS, 50)).toBe(true);
      // ... while a client on the broker's own listener goes on.
      await direct.publish('parted.one', { n: 2 }, { msgId: 'd-2' });
      expect(stored).toBe(false);
      proxy.restore();
      await during;
      const healed = async () => {
        try {
          await proxied.publish('parted.one', { n: 3 }, { msgId: 'p-3' });
          return true;
        } catch {
          return false;
        }
      };
      expect(await eventually(healed, NOTICE_TIMEOUT_MS, 200)).toBe(true);
      expect(await eventually(() => proxied.healthy(), NOTICE_TIMEOUT_MS, 50)).toBe(true);
      const ids = (await direct.read({ topic: 'parted', from: 1, limit: 10 })).map((m) => m.msgId);
      expect(ids.filter((id) => id !== 'p-1')).toEqual(['p-0', 'd-2', 'p-3']);
    } finally {
      await Promise.allSettled([proxied.drain(), direct.drain()]);
    }
  }, 120_000);

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

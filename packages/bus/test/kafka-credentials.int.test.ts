import { randomUUID } from 'node:crypto';
import { busSettings, loadConfig } from '@tideline/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusUnavailableError } from '../src/errors.ts';
import { createEventBus } from '../src/factory.ts';
import { eventually } from '../src/testing/wait.ts';
import type { BusMessage, EventBus } from '../src/types.ts';
import { PrivateKafkaBroker } from './support/private-broker.ts';

const USER = 'tideline';
const PASSWORD = `pw-${randomUUID()}`;
const WRONG = `wrong-${randomUUID()}`;
const DELIVERY_TIMEOUT_MS = 30_000;

/** Everything an error would put in a log line: message and cause chain. */
function printed(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    parts.push(current.message, current.stack ?? '');
    current = current.cause;
  }
  return parts.join('\n');
}

describe('Kafka that requires SASL/PLAIN', () => {
  let broker: PrivateKafkaBroker;

  beforeAll(async () => {
    broker = await PrivateKafkaBroker.start({
      startTimeoutSeconds: 60,
      heapOpts: '-Xms128m -Xmx512m',
      saslPlainUsers: { [USER]: PASSWORD },
    });
  }, 120_000);

  afterAll(async () => {
    await broker?.destroy();
  });

  /** A Kafka bus the way a service builds it: from the TIDELINE_* environment. */
  function busFromEnv(env: Record<string, string>): EventBus {
    const config = loadConfig(busSettings, {
      env: {
        TIDELINE_BUS: 'kafka',
        TIDELINE_BUS_PREFIX: `sasl${randomUUID().replaceAll('-', '').slice(0, 10)}`,
        TIDELINE_KAFKA_BROKERS: broker.saslBrokers.join(','),
        TIDELINE_KAFKA_REQUEST_TIMEOUT_MS: '3000',
        TIDELINE_KAFKA_RETRIES: '1',
        TIDELINE_KAFKA_RETRY_DELAY_MS: '100',
        TIDELINE_KAFKA_SESSION_TIMEOUT_MS: '6000',
        TIDELINE_KAFKA_HEARTBEAT_INTERVAL_MS: '500',
        TIDELINE_KAFKA_FETCH_MAX_WAIT_MS: '100',
        ...env,
      },
    });
    return createEventBus({ config, clientName: 'sasl-test' });
  }

  async function startError(bus: EventBus): Promise<Error> {
    try {
      await bus.start();
    } catch (error) {
      return error as Error;
    } finally {
      await bus.drain().catch(() => undefined);
    }
    throw new Error('expected the broker to refuse the bus');
  }

  it('kafka - a client without credentials cannot publish a forged website.update', async () => {
    const error = await startError(busFromEnv({}));
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect(error.message).toMatch(/^cannot provision Kafka topics at 127\.0\.0\.1:\d+: .*Connection closed/);
    expect(error.message).toContain('TIDELINE_KAFKA_SASL_MECHANISM');
  });

  it('kafka - a wrong password is refused with an error that carries neither password', async () => {
    const error = await startError(
      busFromEnv({
        TIDELINE_KAFKA_SASL_MECHANISM: 'plain',
        TIDELINE_KAFKA_SASL_USERNAME: USER,
        TIDELINE_KAFKA_SASL_PASSWORD: WRONG,
      }),
    );
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect(error.message).toMatch(/SASL authentication failed/);
    expect(printed(error)).not.toContain(WRONG);
    expect(printed(error)).not.toContain(PASSWORD);
  });

  it('kafka - the configured SASL user publishes and consumes', async () => {
    const bus = busFromEnv({
      TIDELINE_KAFKA_SASL_MECHANISM: 'plain',
      TIDELINE_KAFKA_SASL_USERNAME: USER,
      TIDELINE_KAFKA_SASL_PASSWORD: PASSWORD,
    });
    const seen: BusMessage[] = [];
    await bus.start();
    try {
      await bus.subscribe({ topic: 'websites', group: 'g', handler: (m) => void seen.push(m) });
      await bus.publish('website.update', { websiteId: 'w1' }, { msgId: randomUUID() });
      expect(await eventually(() => seen.length === 1, DELIVERY_TIMEOUT_MS)).toBe(true);
      expect(seen[0]?.subject).toBe('website.update');
      const read = await bus.read({ topic: 'websites', from: 1, limit: 10 });
      expect(read.map((m) => m.subject)).toEqual(['website.update']);
    } finally {
      await bus.drain();
    }
  });
});

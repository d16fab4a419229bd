import { busSettings, loadConfig } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../factory.ts';
import { NatsEventBus } from '../nats/nats-bus.ts';
import { KafkaEventBus } from './kafka-bus.ts';

describe('transport choice', () => {
  it('TIDELINE_BUS=kafka - createEventBus returns the Kafka bus; the default stays NATS', () => {
    const kafka = loadConfig(busSettings, { env: { TIDELINE_BUS: 'kafka', TIDELINE_KAFKA_PARTITIONS: '3' } });
    expect(kafka.kafkaPartitions).toBe(3);
    expect(createEventBus({ config: kafka, clientName: 'test' })).toBeInstanceOf(KafkaEventBus);
    const nats = loadConfig(busSettings, { env: {} });
    expect(createEventBus({ config: nats, clientName: 'test' })).toBeInstanceOf(NatsEventBus);
  });
});

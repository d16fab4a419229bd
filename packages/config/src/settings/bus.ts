import { int, list, ms, oneOf, seconds, str, url } from '../setting.ts';

/** Settings of the event bus (packages/bus), shared by every service that publishes or consumes. */
export const busSettings = {
  bus: oneOf({
    env: 'TIDELINE_BUS',
    values: ['nats', 'kafka'] as const,
    default: 'nats',
    doc: 'Which broker carries events: NATS JetStream or Kafka.',
  }),
  natsUrl: url({
    env: 'TIDELINE_NATS_URL',
    protocols: ['nats', 'tls'],
    default: 'nats://127.0.0.1:4222',
    doc: 'NATS server with JetStream enabled.',
  }),
  kafkaBrokers: list({
    env: 'TIDELINE_KAFKA_BROKERS',
    item: /^[^\s:]+:\d{1,5}$/,
    itemRule: 'host:port pairs',
    default: ['127.0.0.1:9092'],
    doc: 'Kafka bootstrap brokers.',
  }),
  busPrefix: str({
    env: 'TIDELINE_BUS_PREFIX',
    pattern: /^[a-z][a-z0-9_]{0,31}$/,
    patternRule: 'a lower-case identifier of at most 32 characters (a-z, 0-9, _)',
    default: 'tideline',
    doc: 'Prefix of stream/topic and consumer names, so several deployments can share one broker.',
  }),
  busMaxDeliveries: int({
    env: 'TIDELINE_BUS_MAX_DELIVERIES',
    min: 1,
    max: 1000,
    default: 5,
    doc: 'Deliveries of one message before it is moved to the dead-letter topic.',
  }),
  busRetryBackoffMs: ms({
    env: 'TIDELINE_BUS_RETRY_BACKOFF_MS',
    default: 1_000,
    doc: 'First redelivery delay after a failed handling; doubles per attempt up to the maximum.',
  }),
  busRetryBackoffMaxMs: ms({
    env: 'TIDELINE_BUS_RETRY_BACKOFF_MAX_MS',
    default: 30_000,
    doc: 'Upper bound of the redelivery delay.',
  }),
  busAckWaitMs: ms({
    env: 'TIDELINE_BUS_ACK_WAIT_MS',
    default: 30_000,
    min: 1_000,
    doc: 'How long a handler may run before the broker redelivers its message.',
  }),
  busRetentionSeconds: seconds({
    env: 'TIDELINE_BUS_RETENTION_SECONDS',
    min: 60,
    default: 604_800,
    doc: 'How long the broker keeps events (replay window of the bus itself), in seconds.',
  }),
  busDuplicateWindowMs: ms({
    env: 'TIDELINE_BUS_DUPLICATE_WINDOW_MS',
    default: 120_000,
    min: 1_000,
    doc: 'Window in which a publish with an already-seen deduplication id is dropped by the broker.',
  }),
};

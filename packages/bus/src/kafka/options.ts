import { busSettings } from '@tideline/config';
import type { BusOptions } from '../types.ts';

/** Options of {@link KafkaEventBus}; every tunable defaults to its `TIDELINE_KAFKA_*` setting's default. */
export interface KafkaBusOptions extends BusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Client id shown by the broker per connection. */
  clientId?: string;
  /** Partitions of each topic this bus creates. 1 keeps total order and replay by position. */
  partitions?: number;
  replicationFactor?: number;
  requestTimeoutMs?: number;
  retryDelayMs?: number;
  retries?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  fetchMaxWaitMs?: number;
  healthCheckMs?: number;
  /** msgIds remembered (within `duplicateWindowMs`) to answer a repeated publish as a duplicate. */
  publishedIdsRemembered?: number;
  /** Largest produce request built from publishes queued while the previous one was in flight. */
  publishBatchMaxBytes?: number;
  /** SASL authentication of every connection (PLAIN or SCRAM); absent: unauthenticated. */
  sasl?: KafkaSasl;
  /** TLS towards the brokers; absent: plaintext. */
  tls?: KafkaTls;
}

export interface KafkaSasl {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  username: string;
  password: string;
}

export interface KafkaTls {
  /** PEM of the certificate authority; absent: the system trust store. */
  ca?: Buffer;
}

/** The security part of a @platformatic/kafka client's options. */
export function kafkaSecurityOptions(options: Pick<KafkaBusOptions, 'sasl' | 'tls'>): {
  sasl?: KafkaSasl;
  tls?: KafkaTls;
} {
  return {
    ...(options.sasl ? { sasl: { ...options.sasl } } : {}),
    ...(options.tls ? { tls: { ...options.tls } } : {}),
  };
}

export type ResolvedKafkaOptions = Required<
  Omit<KafkaBusOptions, 'logger' | 'observer' | 'handledIdsRemembered' | 'prefetch' | 'sasl' | 'tls'>
> &
  Pick<KafkaBusOptions, 'logger' | 'observer' | 'handledIdsRemembered' | 'prefetch' | 'sasl' | 'tls'>;

export function resolveKafkaOptions(options: KafkaBusOptions): ResolvedKafkaOptions {
  const d = (setting: { default?: unknown }) => setting.default as never;
  return {
    ...options,
    clientId: options.clientId ?? d(busSettings.kafkaClientId),
    partitions: options.partitions ?? d(busSettings.kafkaPartitions),
    replicationFactor: options.replicationFactor ?? d(busSettings.kafkaReplicationFactor),
    requestTimeoutMs: options.requestTimeoutMs ?? d(busSettings.kafkaRequestTimeoutMs),
    retryDelayMs: options.retryDelayMs ?? d(busSettings.kafkaRetryDelayMs),
    retries: options.retries ?? d(busSettings.kafkaRetries),
    sessionTimeoutMs: options.sessionTimeoutMs ?? d(busSettings.kafkaSessionTimeoutMs),
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? d(busSettings.kafkaHeartbeatIntervalMs),
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? d(busSettings.kafkaRebalanceTimeoutMs),
    fetchMaxWaitMs: options.fetchMaxWaitMs ?? d(busSettings.kafkaFetchMaxWaitMs),
    healthCheckMs: options.healthCheckMs ?? d(busSettings.kafkaHealthCheckMs),
    publishedIdsRemembered: options.publishedIdsRemembered ?? d(busSettings.kafkaPublishedIdsRemembered),
    publishBatchMaxBytes: options.publishBatchMaxBytes ?? d(busSettings.kafkaPublishBatchMaxBytes),
  };
}

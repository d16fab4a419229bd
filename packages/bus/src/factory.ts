import type { busSettings, ConfigOf } from '@tideline/config';
import { TOPICS } from '@tideline/contracts';
import { KafkaEventBus } from './kafka/kafka-bus.ts';
import { NatsEventBus } from './nats/nats-bus.ts';
import type { BusLogger, EventBus, TopicSpec } from './types.ts';

export interface CreateBusOptions {
  config: ConfigOf<typeof busSettings>;
  /** Client name shown by the broker, e.g. the service and pod. */
  clientName: string;
  logger?: BusLogger;
  /** Defaults to every topic of packages/contracts. */
  topics?: TopicSpec[];
}

/** The bus the configuration asks for (`TIDELINE_BUS`), not yet started. */
export function createEventBus(options: CreateBusOptions): EventBus {
  const { config } = options;
  const topics =
    options.topics ?? Object.entries(TOPICS).map(([name, t]) => ({ name, subjects: t.subjects }));
  const common = {
    prefix: config.busPrefix,
    topics,
    maxDeliveries: config.busMaxDeliveries,
    backoff: { initialMs: config.busRetryBackoffMs, maxMs: config.busRetryBackoffMaxMs },
    ackWaitMs: config.busAckWaitMs,
    prefetch: config.busPrefetch,
    retentionMs: config.busRetentionSeconds * 1000,
    duplicateWindowMs: config.busDuplicateWindowMs,
    ...(options.logger ? { logger: options.logger } : {}),
  };
  switch (config.bus) {
    case 'nats':
      return new NatsEventBus({ ...common, servers: config.natsUrl, name: options.clientName });
    case 'kafka':
      return new KafkaEventBus({
        ...common,
        brokers: config.kafkaBrokers,
        clientId: `${config.kafkaClientId}-${options.clientName}`,
        partitions: config.kafkaPartitions,
        replicationFactor: config.kafkaReplicationFactor,
        requestTimeoutMs: config.kafkaRequestTimeoutMs,
        retryDelayMs: config.kafkaRetryDelayMs,
        retries: config.kafkaRetries,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        heartbeatIntervalMs: config.kafkaHeartbeatIntervalMs,
        rebalanceTimeoutMs: config.kafkaRebalanceTimeoutMs,
        fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
        healthCheckMs: config.kafkaHealthCheckMs,
        publishedIdsRemembered: config.kafkaPublishedIdsRemembered,
        publishBatchMaxBytes: config.kafkaPublishBatchMaxBytes,
      });
  }
}

export interface ServiceBusOptions extends CreateBusOptions {
  /** A bus started and stopped by the caller (tests, one process running several services). */
  given?: EventBus | undefined;
  /** Registers a stop step of the service (`ServiceContext.onStop`). */
  onStop: (name: string, run: () => Promise<void>) => void;
}

/**
 * The bus of a service: the `given` one as it is, or one the configuration names, started here
 * and drained when the service stops. Whoever creates a bus starts and stops it; a service never
 * stops a bus it was given.
 */
export async function serviceBus(options: ServiceBusOptions): Promise<EventBus> {
  if (options.given) return options.given;
  const bus = createEventBus(options);
  await bus.start();
  options.onStop('bus', () => bus.drain());
  return bus;
}

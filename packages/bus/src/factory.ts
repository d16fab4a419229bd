import { readFileSync } from 'node:fs';
import { type busSettings, ConfigError, type ConfigOf } from '@tideline/config';
import { TOPICS } from '@tideline/contracts';
import type { Registry } from 'prom-client';
import { KafkaEventBus } from './kafka/kafka-bus.ts';
import type { KafkaSasl, KafkaTls } from './kafka/options.ts';
import { createBusMetrics } from './metrics.ts';
import type { NatsCredentials } from './nats/credentials.ts';
import { NatsEventBus } from './nats/nats-bus.ts';
import type { BusLogger, BusObserver, EventBus, TopicSpec } from './types.ts';

export interface CreateBusOptions {
  config: ConfigOf<typeof busSettings>;
  /** Client name shown by the broker, e.g. the service and pod. */
  clientName: string;
  logger?: BusLogger;
  /** Defaults to every topic of packages/contracts. */
  topics?: TopicSpec[];
  /** Told about publishes, deliveries and dead letters (see createBusMetrics). */
  observer?: BusObserver;
}

type BusConfig = ConfigOf<typeof busSettings>;

/**
 * NATS credentials from the settings (they win over userinfo in `TIDELINE_NATS_URL`). Throws a
 * ConfigError for a user without a password, a password without a user, or a token besides a user.
 */
export function natsCredentials(config: BusConfig): NatsCredentials {
  const { natsUser: user, natsPassword: pass, natsToken: token } = config;
  if (token !== undefined && (user !== undefined || pass !== undefined))
    throw new ConfigError(
      'TIDELINE_NATS_TOKEN',
      'unset when TIDELINE_NATS_USER/PASSWORD are set',
      '(hidden)',
    );
  if ((user === undefined) !== (pass === undefined)) {
    const missing = user === undefined ? 'TIDELINE_NATS_USER' : 'TIDELINE_NATS_PASSWORD';
    throw new ConfigError(missing, 'set together with the other of TIDELINE_NATS_USER/PASSWORD', 'nothing');
  }
  return {
    ...(token !== undefined ? { token } : {}),
    ...(user !== undefined && pass !== undefined ? { user, pass } : {}),
    ...(config.natsTlsCaFile !== undefined ? { tls: { caFile: config.natsTlsCaFile } } : {}),
  };
}

const SASL_MECHANISMS = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
} as const;

/** Kafka SASL and TLS from the settings; a SASL mechanism needs a user and a password. */
export function kafkaSecurity(config: BusConfig): { sasl?: KafkaSasl; tls?: KafkaTls } {
  const out: { sasl?: KafkaSasl; tls?: KafkaTls } = {};
  if (config.kafkaSaslMechanism !== 'none') {
    const { kafkaSaslUsername: username, kafkaSaslPassword: password } = config;
    if (username === undefined)
      throw new ConfigError('TIDELINE_KAFKA_SASL_USERNAME', 'set when a SASL mechanism is', 'nothing');
    if (password === undefined)
      throw new ConfigError('TIDELINE_KAFKA_SASL_PASSWORD', 'set when a SASL mechanism is', 'nothing');
    out.sasl = { mechanism: SASL_MECHANISMS[config.kafkaSaslMechanism], username, password };
  }
  if (config.kafkaTlsCaFile !== undefined) {
    try {
      out.tls = { ca: readFileSync(config.kafkaTlsCaFile) };
    } catch (error) {
      throw new ConfigError(
        'TIDELINE_KAFKA_TLS_CA_FILE',
        'a readable PEM file',
        `${config.kafkaTlsCaFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  } else if (config.kafkaTls) out.tls = {};
  return out;
}

/** Every topic of the contracts (`TOPICS`), as the bus provisions them. */
export function contractTopics(): TopicSpec[] {
  return Object.entries(TOPICS).map(([name, t]) => ({ name, subjects: t.subjects }));
}

/** The bus the configuration asks for (`TIDELINE_BUS`), not yet started. */
export function createEventBus(options: CreateBusOptions): EventBus {
  const { config } = options;
  const topics = options.topics ?? contractTopics();
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
    ...(options.observer ? { observer: options.observer } : {}),
  };
  switch (config.bus) {
    case 'nats':
      return new NatsEventBus({
        ...common,
        servers: config.natsUrl,
        credentials: natsCredentials(config),
        name: options.clientName,
        requestTimeoutMs: config.natsRequestTimeoutMs,
        reconnectWaitMs: config.natsReconnectWaitMs,
        ephemeralInactiveMs: config.natsEphemeralInactiveMs,
      });
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
        ...kafkaSecurity(config),
      });
  }
}

export interface ServiceBusOptions extends CreateBusOptions {
  /** A bus started and stopped by the caller (tests, one process running several services). */
  given?: EventBus | undefined;
  /** Registers a stop step of the service (`ServiceContext.onStop`). */
  onStop: (name: string, run: () => Promise<void>) => void;
  /**
   * The service's registry: the bus counters (`tideline_bus_*`) and consumer lag go there. A
   * `given` bus is watched for lag only (its counters belong to whoever created it).
   */
  metrics?: Registry;
}

/**
 * The bus of a service: the `given` one as it is, or one the configuration names, started here
 * and drained when the service stops. Whoever creates a bus starts and stops it; a service never
 * stops a bus it was given.
 */
export async function serviceBus(options: ServiceBusOptions): Promise<EventBus> {
  const metrics = options.metrics
    ? createBusMetrics({
        registry: options.metrics,
        lagSampleTimeoutMs: options.config.busLagSampleTimeoutMs,
      })
    : undefined;
  if (options.given) {
    metrics?.watch(options.given);
    return options.given;
  }
  const bus = createEventBus({ ...options, ...(metrics ? { observer: metrics.observer } : {}) });
  metrics?.watch(bus);
  await bus.start();
  options.onStop('bus', () => bus.drain());
  return bus;
}

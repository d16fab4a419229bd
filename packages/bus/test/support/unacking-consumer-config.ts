import type { BusOptions } from '../../src/types.ts';

/** The environment variable that carries an {@link UnackingConsumerConfig} as JSON to the child. */
export const CONFIG_ENV = 'TIDELINE_TEST_UNACKING_CONSUMER';

export interface UnackingConsumerConfig {
  transport: 'nats' | 'kafka';
  /** NATS server URL (nats) or bootstrap brokers (kafka). */
  servers: string[];
  bus: BusOptions;
  /** Kafka group session timings; ignored over NATS. */
  kafka?: { sessionTimeoutMs: number; heartbeatIntervalMs: number; fetchMaxWaitMs: number };
  topic: string;
  group: string;
  /** Messages held at once (handler calls that never return). */
  hold: number;
}

import { Counter, Gauge, type Registry } from 'prom-client';
import type { BusObserver, EventBus } from './types.ts';

export interface BusMetricsOptions {
  registry: Registry;
  /** How long a scrape waits for the broker's lag answer before leaving the lag series out. */
  lagSampleTimeoutMs: number;
}

/** The bus metrics of a service: an observer to give the bus, and `watch` to sample its consumer lag on scrape. */
export interface BusMetrics {
  readonly observer: BusObserver;
  /** Samples `bus.consumerLag()` on every scrape of the registry. */
  watch(bus: EventBus): void;
}

/**
 * Prometheus counters of the bus, labelled by logical topic and consumer group (never by message
 * content): `tideline_bus_published_total`, `tideline_bus_deliveries_total`,
 * `tideline_bus_redeliveries_total`, `tideline_bus_dead_letters_total` (one per dead-lettered
 * message) and the gauge `tideline_bus_consumer_lag_messages` read from the broker on scrape.
 */
export function createBusMetrics(options: BusMetricsOptions): BusMetrics {
  const registers = [options.registry];
  const published = new Counter({
    name: 'tideline_bus_published_total',
    help: 'Publishes to the broker by topic and outcome (ok, duplicate: dropped by the broker as already stored, error).',
    labelNames: ['topic', 'outcome'] as const,
    registers,
  });
  const deliveries = new Counter({
    name: 'tideline_bus_deliveries_total',
    help: 'Deliveries settled by consumers, by topic, group and outcome (ack, retry, dead_letter, duplicate: an id already handled).',
    labelNames: ['topic', 'group', 'outcome'] as const,
    registers,
  });
  const redeliveries = new Counter({
    name: 'tideline_bus_redeliveries_total',
    help: 'Deliveries that were not the first of their message to the group (after a retry, a crash or an ack timeout).',
    labelNames: ['topic', 'group'] as const,
    registers,
  });
  const deadLetters = new Counter({
    name: 'tideline_bus_dead_letters_total',
    help: 'Messages moved to the dead-letter topic, one per message, by topic, group and cause (rejected, max_deliveries).',
    labelNames: ['topic', 'group', 'cause'] as const,
    registers,
  });
  const watched = new Set<EventBus>();
  new Gauge({
    name: 'tideline_bus_consumer_lag_messages',
    help: 'Messages the broker holds for a consumer group that it has not delivered yet (NATS num_pending; Kafka high watermark minus committed offset), read on scrape.',
    labelNames: ['topic', 'group'] as const,
    registers,
    async collect() {
      this.reset();
      for (const bus of watched) {
        const lags = await withTimeout(
          bus.consumerLag?.() ?? Promise.resolve([]),
          options.lagSampleTimeoutMs,
        );
        for (const lag of lags ?? []) this.set({ topic: lag.topic, group: lag.group }, lag.pending);
      }
    },
  });
  return {
    observer: {
      subscribed: (topic, group) => {
        redeliveries.inc({ topic, group }, 0);
        for (const cause of ['rejected', 'max_deliveries'] as const)
          deadLetters.inc({ topic, group, cause }, 0);
      },
      published: (topic, outcome) => published.inc({ topic, outcome }),
      delivered: (topic, group, outcome, deliveryCount) => {
        deliveries.inc({ topic, group, outcome });
        if (deliveryCount > 1) redeliveries.inc({ topic, group });
      },
      deadLettered: (topic, group, cause) => deadLetters.inc({ topic, group, cause }),
    },
    watch: (bus) => void watched.add(bus),
  };
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

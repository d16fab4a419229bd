import {
  type BusOptions,
  contractTopics,
  type EventBus,
  KafkaEventBus,
  NatsEventBus,
  type PublishOptions,
  type PublishReceipt,
  type ReadOptions,
  type SubscribeOptions,
  type Subscription,
} from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';

/** One subscription a gateway made through a {@link PushTestBus}, which the test can stop and start again. */
export interface RestartableSubscription {
  readonly options: SubscribeOptions;
  current: Subscription;
  /** Stops the subscription (in-flight handlers finish and settle), then subscribes again with the same options. */
  restart(): Promise<void>;
}

/**
 * A real broker bus (the configuration's: NATS or Kafka) handed to a gateway, for push tests:
 * - it keeps no acked msgIds (`handledIdsRemembered: 0`), so a message the broker delivers again
 *   reaches the gateway's handler again instead of being dropped by the bus;
 * - it records the gateway's subscriptions, so a test can restart one while the sockets stay connected;
 * - `start()` and `drain()` are idempotent, so it does not matter whether the gateway or the test
 *   starts and stops it.
 */
export class PushTestBus implements EventBus {
  readonly subscriptions: RestartableSubscription[] = [];
  private readonly inner: EventBus;
  private started: Promise<void> | undefined;

  constructor(env: Record<string, string>, clientName: string) {
    const config = loadConfig(busSettings, { env });
    const common: BusOptions = {
      prefix: config.busPrefix,
      topics: contractTopics(),
      maxDeliveries: config.busMaxDeliveries,
      backoff: { initialMs: config.busRetryBackoffMs, maxMs: config.busRetryBackoffMaxMs },
      ackWaitMs: config.busAckWaitMs,
      prefetch: config.busPrefetch,
      retentionMs: config.busRetentionSeconds * 1000,
      duplicateWindowMs: config.busDuplicateWindowMs,
      handledIdsRemembered: 0,
    };
    this.inner =
      config.bus === 'kafka'
        ? new KafkaEventBus({
            ...common,
            brokers: config.kafkaBrokers,
            clientId: `${config.kafkaClientId}-${clientName}`,
          })
        : new NatsEventBus({ ...common, servers: config.natsUrl, name: clientName });
  }

  untilHealthy(): Promise<void> {
    return this.inner.untilHealthy();
  }

  start(): Promise<void> {
    this.started ??= this.inner.start();
    return this.started;
  }

  publish(subject: string, data: Uint8Array | object, options: PublishOptions): Promise<PublishReceipt> {
    return this.inner.publish(subject, data, options);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const inner = this.inner;
    const recorded: RestartableSubscription = {
      options,
      current: await inner.subscribe(options),
      async restart() {
        await this.current.stop();
        this.current = await inner.subscribe(options);
      },
    };
    this.subscriptions.push(recorded);
    return {
      topic: options.topic,
      group: options.group,
      stop: () => recorded.current.stop(),
    };
  }

  /** The one subscription of `topic`. */
  subscriptionOf(topic: string): RestartableSubscription {
    const found = this.subscriptions.filter((s) => s.options.topic === topic);
    if (found.length !== 1) throw new Error(`expected one subscription of ${topic}, found ${found.length}`);
    return found[0]!;
  }

  read(options: ReadOptions) {
    return this.inner.read(options);
  }

  healthy(): boolean {
    return this.inner.healthy();
  }

  drain(): Promise<void> {
    return this.inner.drain();
  }
}

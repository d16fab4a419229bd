import { Admin, Consumer, ListOffsetTimestamps, ProduceAcks, Producer } from '@platformatic/kafka';
import { redactCredentials } from '@tideline/config';
import { BaseEventBus, type Settle } from '../base.ts';
import { BusUnavailableError, PublishExpectationError } from '../errors.ts';
import {
  type BusMessage,
  DEAD_LETTER_TOPIC,
  type PublishOptions,
  type PublishReceipt,
  type ReadOptions,
  type SubscribeOptions,
  type TopicSpec,
} from '../types.ts';
import { encodeRecord, positionOf } from './codec.ts';
import { GroupConsumer } from './group-consumer.ts';
import {
  type KafkaBusOptions,
  kafkaSecurityOptions,
  type ResolvedKafkaOptions,
  resolveKafkaOptions,
} from './options.ts';
import { PublishedIds } from './published-ids.ts';
import { OrderedPublisher } from './publisher.ts';
import { readFromPosition } from './reader.ts';

const TOPIC_ALREADY_EXISTS = /already exists/i;
/** A topic created a moment ago that the answering broker's metadata does not list yet. */
const TOPIC_NOT_KNOWN_YET = /unknown topic/i;
/** Depth to which nested client errors are searched for the reason of a failure. */
const MAX_ERROR_DEPTH = 4;

/**
 * The innermost reason of a Kafka client failure (the client wraps "authentication failed" in
 * "cannot connect to any broker"), with credentials redacted.
 */
function kafkaFailure(error: unknown): string {
  const reasons: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!(e instanceof Error) || depth > MAX_ERROR_DEPTH) return;
    reasons.push(e.message);
    const nested = (e as Error & { errors?: unknown[] }).errors;
    if (Array.isArray(nested) && nested.length > 0) visit(nested[0], depth + 1);
    else visit(e.cause, depth + 1);
  };
  visit(error, 0);
  return redactCredentials([...new Set(reasons)].join(': '));
}

/**
 * The event bus over Apache Kafka (3.5–4.x). One Kafka topic per logical topic
 * (`<prefix>_<topic>`, plus `<prefix>_dead-letter`), created at start; an idempotent producer
 * with acks=all, so a resolved publish is on every in-sync replica and never written twice by a
 * producer retry; one consumer group per subscription group (`<prefix>_<group>`) with offsets
 * committed only once the handler's outcome is settled.
 *
 * Order: a message's key (default: the topic name) picks its partition; with one partition per
 * topic (the default) the whole topic has one order and positions are `offset + 1`. Kafka has no
 * broker-side dedup by id: this bus answers a msgId it published within the duplicate window as a
 * duplicate without sending it, and consumers drop redeliveries of ids they already handled.
 */
export class KafkaEventBus extends BaseEventBus {
  private readonly kafka: ResolvedKafkaOptions;
  private readonly published: PublishedIds;
  private readonly groups = new Map<string, GroupConsumer>();
  private readonly partitionCounts = new Map<string, number>();
  private admin: Admin | undefined;
  private reader: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private publisher: OrderedPublisher | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private reachable = false;

  constructor(options: KafkaBusOptions) {
    super(options);
    this.kafka = resolveKafkaOptions(options);
    this.published = new PublishedIds(this.kafka.duplicateWindowMs, this.kafka.publishedIdsRemembered);
  }

  private clientOptions(role: string) {
    return {
      clientId: `${this.kafka.clientId}-${role}`,
      bootstrapBrokers: this.kafka.brokers,
      timeout: this.kafka.requestTimeoutMs,
      retries: this.kafka.retries,
      retryDelay: this.kafka.retryDelayMs,
      ...kafkaSecurityOptions(this.kafka),
    };
  }

  /** Client-level errors surface through the calls that fail; the event is only logged. */
  private watch<C extends { on(event: 'error', listener: (error: Error) => void): unknown }>(
    client: C,
    role: string,
  ): C {
    client.on('error', (error) => this.logger.warn({ err: error, role }, 'Kafka client error'));
    return client;
  }

  private kafkaTopic(topic: TopicSpec): string {
    return this.brokerName(topic.name);
  }

  protected async connect(): Promise<void> {
    this.admin = this.watch(new Admin(this.clientOptions('admin')), 'admin');
    try {
      await this.provision(this.admin);
    } catch (error) {
      await this.admin.close().catch(() => undefined);
      throw new BusUnavailableError(
        `cannot provision Kafka topics at ${this.kafka.brokers.join(',')}: ${kafkaFailure(error)}${
          this.kafka.sasl
            ? ''
            : ' (a broker that requires SASL closes unauthenticated connections: see TIDELINE_KAFKA_SASL_MECHANISM)'
        }`,
        { cause: error },
      );
    }
    this.publisher = new OrderedPublisher(
      () =>
        this.watch(
          new Producer<Buffer, Buffer, Buffer, Buffer>({
            ...this.clientOptions('producer'),
            idempotent: true,
            acks: ProduceAcks.ALL,
            autocreateTopics: false,
          }),
          'producer',
        ),
      this.kafka.publishBatchMaxBytes,
    );
    this.reader = this.watch(
      new Consumer<Buffer, Buffer, Buffer, Buffer>({
        ...this.clientOptions('reader'),
        groupId: this.brokerName('reader'),
        autocommit: false,
      }),
      'reader',
    );
    this.reachable = true;
    this.healthTimer = setInterval(() => void this.probe(), this.kafka.healthCheckMs);
    this.healthTimer.unref();
  }

  /** Creates missing topics (dead letters on one partition, so they read back in order). */
  private async provision(admin: Admin): Promise<void> {
    const existing = new Set(await admin.listTopics());
    for (const topic of this.topics) {
      const name = this.kafkaTopic(topic);
      if (existing.has(name)) continue;
      const partitions = topic.name === DEAD_LETTER_TOPIC ? 1 : this.kafka.partitions;
      try {
        await admin.createTopics({
          topics: [name],
          partitions,
          replicas: this.kafka.replicationFactor,
          configs: [{ name: 'retention.ms', value: String(this.kafka.retentionMs) }],
        });
      } catch (error) {
        if (!TOPIC_ALREADY_EXISTS.test(String((error as Error).message) + String((error as Error).cause))) {
          const described = await admin.metadata({ topics: [name] }).catch(() => undefined);
          if (!described?.topics.has(name)) throw error;
        }
      }
    }
    const names = this.topics.map((t) => this.kafkaTopic(t));
    const deadline = Date.now() + this.kafka.requestTimeoutMs;
    for (;;) {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true }).catch((error: Error) => {
        if (TOPIC_NOT_KNOWN_YET.test(error.message) && Date.now() <= deadline) return undefined;
        throw error;
      });
      const ready = names.every((n) => metadata?.topics.get(n)?.partitions.every((p) => p.leader >= 0));
      if (metadata && ready) {
        for (const n of names) this.partitionCounts.set(n, metadata.topics.get(n)!.partitionsCount);
        return;
      }
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leader yet`);
      await new Promise((resolve) => setTimeout(resolve, this.kafka.retryDelayMs));
    }
  }

  private async probe(): Promise<void> {
    try {
      await this.admin?.metadata({ topics: [], forceUpdate: true });
      this.reachable = true;
      this.healthChanged();
    } catch {
      this.reachable = false;
    }
  }

  healthy(): boolean {
    return this.reachable && this.publisher !== undefined && !this.publisher.closed;
  }

  protected async doPublish(
    topic: TopicSpec,
    subject: string,
    data: Uint8Array,
    options: PublishOptions,
  ): Promise<PublishReceipt> {
    if (options.expect)
      throw new PublishExpectationError(
        `publish of ${subject} refused: Kafka does not check publish expectations`,
      );
    const earlier = this.published.lookup(options.msgId);
    if (earlier) {
      // A failed earlier publish was not stored: this one is sent.
      const receipt = await earlier.catch(() => undefined);
      if (receipt) return { ...receipt, duplicate: true };
    }
    const kafkaTopic = this.kafkaTopic(topic);
    const record = encodeRecord({
      kafkaTopic,
      topic,
      subject,
      data,
      publish: options,
      partitions: this.partitionCounts.get(kafkaTopic) ?? 1,
    });
    const receipt = this.publisher!.send(record).then(
      (offset): PublishReceipt => ({ topic: topic.name, position: positionOf(offset), duplicate: false }),
      (error: unknown) => {
        throw new BusUnavailableError(`publish of ${subject} failed: ${(error as Error).message}`, {
          cause: error,
        });
      },
    );
    this.published.remember(options.msgId, receipt);
    return receipt;
  }

  protected async doSubscribe(
    topic: TopicSpec,
    options: SubscribeOptions,
    deliver: (message: BusMessage, settle: Settle) => Promise<void>,
  ): Promise<{ stop(): Promise<void> }> {
    const kafkaTopic = this.kafkaTopic(topic);
    const groupId = this.brokerName(options.group);
    const key = `${kafkaTopic}\0${groupId}`;
    let group = this.groups.get(key);
    if (!group) {
      group = new GroupConsumer({
        kafka: this.kafka,
        admin: this.admin!,
        topic,
        kafkaTopic,
        partitions: this.partitionCounts.get(kafkaTopic) ?? 1,
        groupId,
        startAt: options.startAt ?? 'first',
        ephemeral: options.ephemeral ?? false,
        logger: this.logger,
      });
      this.groups.set(key, group);
      try {
        await group.start();
      } catch (error) {
        this.groups.delete(key);
        throw new BusUnavailableError(`cannot start Kafka group ${groupId}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const running = group;
    const member = running.add({
      subjects: options.subjects,
      concurrency: Math.max(1, options.concurrency ?? 1),
      deliver,
    });
    return {
      stop: async () => {
        if (running.remove(member)) {
          if (this.groups.get(key) === running) this.groups.delete(key);
          await running.stop();
        }
      },
    };
  }

  /** High watermark − committed offset of the group, summed over the topic's partitions. */
  protected override async pendingOf(topic: TopicSpec, group: string): Promise<number | undefined> {
    const admin = this.admin;
    if (!admin) return undefined;
    const kafkaTopic = this.kafkaTopic(topic);
    const indexes = Array.from({ length: this.partitionCounts.get(kafkaTopic) ?? 1 }, (_, i) => i);
    const [offsets, listed] = await Promise.all([
      admin.listConsumerGroupOffsets({
        groups: [
          { groupId: this.brokerName(group), topics: [{ name: kafkaTopic, partitionIndexes: indexes }] },
        ],
      }),
      admin.listOffsets({
        topics: [
          {
            name: kafkaTopic,
            partitions: indexes.map((partitionIndex) => ({
              partitionIndex,
              timestamp: ListOffsetTimestamps.LATEST,
            })),
          },
        ],
      }),
    ]);
    const committed = new Map<number, bigint>();
    for (const t of offsets[0]?.topics ?? [])
      if (t.name === kafkaTopic)
        for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset);
    let pending = 0n;
    for (const p of listed.find((t) => t.name === kafkaTopic)?.partitions ?? []) {
      const at = committed.get(p.partitionIndex) ?? -1n;
      if (at >= 0n && p.offset > at) pending += p.offset - at;
    }
    return Number(pending);
  }

  protected async doRead(topic: TopicSpec, options: ReadOptions): Promise<BusMessage[]> {
    try {
      return await readFromPosition({
        client: this.reader!,
        kafkaTopic: this.kafkaTopic(topic),
        topic,
        from: options.from,
        limit: options.limit,
        subjects: options.subjects,
        maxBytes: this.kafka.publishBatchMaxBytes,
      });
    } catch (error) {
      if (error instanceof Error && error.name === 'BusStateError') throw error;
      throw new BusUnavailableError(`read of ${topic.name} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  protected async close(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.allSettled([...this.groups.values()].map((g) => g.stop()));
    await Promise.allSettled([this.publisher?.close(), this.reader?.close(), this.admin?.close()]);
    this.reachable = false;
  }
}

import {
  type Admin,
  Consumer,
  ListOffsetTimestamps,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import type { Settle } from '../base.ts';
import { subjectMatches } from '../subjects.ts';
import type { BusLogger, BusMessage, TopicSpec } from '../types.ts';
import { decodeRecord } from './codec.ts';
import { OffsetTracker } from './offset-tracker.ts';
import { kafkaSecurityOptions, type ResolvedKafkaOptions } from './options.ts';

/** One subscription of a group in this process. */
export interface GroupMember {
  /** Logical subject patterns; undefined takes every subject of the topic. */
  readonly subjects: string[] | undefined;
  readonly concurrency: number;
  readonly deliver: (message: BusMessage, settle: Settle) => Promise<void>;
}

interface MemberState extends GroupMember {
  active: number;
  stopped: boolean;
}

export interface GroupConsumerOptions {
  kafka: ResolvedKafkaOptions;
  admin: Admin;
  topic: TopicSpec;
  kafkaTopic: string;
  /** Partitions of the Kafka topic. */
  partitions: number;
  /** Broker-side group id. */
  groupId: string;
  startAt: 'first' | 'new';
  ephemeral: boolean;
  logger: BusLogger;
}

type Slot = MemberState | 'none' | 'stopping';
type Record = Message<Buffer, Buffer, Buffer, Buffer>;

const SUBJECT_HEADER = Buffer.from('tideline-subject');

function subjectOf(record: Record): string {
  for (const [name, value] of record.headers) if (SUBJECT_HEADER.equals(name)) return value.toString();
  return '';
}

/**
 * The Kafka consumer of one (topic, group) in this process, shared by every subscription of that
 * group here: Kafka hands a partition to one member of a group, so subscriptions of one process
 * share the partitions this process was given (each message to one subscription), and further
 * processes share the partitions (with 1 partition, one process consumes and the others stand by).
 *
 * Guarantees: a message is retried in place (same member slot, `deliveryCount + 1`, after the
 * backoff), so at concurrency 1 nothing overtakes it; the group's committed offset never passes a
 * message whose outcome is unsettled, so a crash or a broker restart redelivers, never loses;
 * Commits trail acks by at most one commit round trip, so a crash (not a graceful stop) may
 * redeliver the messages acked in that last moment; consumers deduplicate by id as everywhere.
 * `stop` lets in-flight handlers finish, commits, leaves the group (and deletes an ephemeral one).
 * The delivery count lives in this process: a restart delivers an unsettled message as delivery 1.
 */
export class GroupConsumer {
  private readonly members = new Set<MemberState>();
  private readonly tracker = new OffsetTracker();
  private readonly slotWaiters = new Set<() => void>();
  private readonly sleeps = new Set<() => void>();
  private readonly deliveries = new Set<Promise<void>>();
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private dirty = false;
  private turn = 0;

  constructor(private readonly options: GroupConsumerOptions) {}

  /** Fixes where a new group starts, then consumes in the background. */
  async start(): Promise<void> {
    await this.position();
    this.loop = this.run();
  }

  add(member: GroupMember): MemberState {
    const state: MemberState = { ...member, active: 0, stopped: false };
    this.members.add(state);
    this.wakeSlotWaiters();
    return state;
  }

  /** Removes a member; resolves true when it was the last one (the caller then stops the group). */
  remove(member: MemberState): boolean {
    member.stopped = true;
    this.members.delete(member);
    this.wakeSlotWaiters();
    return this.members.size === 0;
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /**
   * A group without committed offsets gets them now (`first`: the earliest retained offset,
   * `new`: the current end), so messages published after `subscribe` resolved are never skipped
   * and the position survives a restart before the first commit. An ephemeral group belongs to
   * this subscription alone: it always starts afresh, also when a crashed predecessor of the same
   * name left its offsets behind.
   */
  private async position(): Promise<void> {
    const { kafka, logger, groupId } = this.options;
    // Setting the offsets can fail, e.g. while the coordinator of a brand-new group is loading,
    // or because a member in another process got there first. Read the group again after each
    // failure: once it has offsets its position is kept; give up only after the configured retries.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.positionOnce();
        return;
      } catch (error) {
        if (attempt >= kafka.retries) {
          logger.warn({ err: error, group: groupId }, 'could not set the start offsets of a group');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, kafka.retryDelayMs));
      }
    }
  }

  private async positionOnce(): Promise<void> {
    const { admin, kafkaTopic, groupId, partitions, startAt } = this.options;
    const indexes = Array.from({ length: partitions }, (_, i) => i);
    const [group] = await admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: [{ name: kafkaTopic, partitionIndexes: indexes }] }],
    });
    const committed = new Map<number, bigint>();
    for (const topic of group?.topics ?? []) {
      if (topic.name !== kafkaTopic) continue;
      for (const p of topic.partitions) committed.set(p.partitionIndex, p.committedOffset);
    }
    const missing = this.options.ephemeral ? indexes : indexes.filter((p) => (committed.get(p) ?? -1n) < 0n);
    if (missing.length === 0) return;
    const timestamp = startAt === 'new' ? ListOffsetTimestamps.LATEST : ListOffsetTimestamps.EARLIEST;
    const listed = await admin.listOffsets({
      topics: [
        { name: kafkaTopic, partitions: missing.map((partitionIndex) => ({ partitionIndex, timestamp })) },
      ],
    });
    const partitionOffsets = (listed.find((t) => t.name === kafkaTopic)?.partitions ?? []).map((p) => ({
      partition: p.partitionIndex,
      offset: p.offset,
    }));
    await admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: kafkaTopic, partitionOffsets }] });
  }

  private async run(): Promise<void> {
    const { kafka, kafkaTopic, groupId, logger } = this.options;
    while (!this.stopping) {
      try {
        const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
          clientId: `${kafka.clientId}-${groupId}`,
          bootstrapBrokers: kafka.brokers,
          groupId,
          timeout: kafka.requestTimeoutMs,
          retries: kafka.retries,
          retryDelay: kafka.retryDelayMs,
          ...kafkaSecurityOptions(kafka),
          sessionTimeout: kafka.sessionTimeoutMs,
          heartbeatInterval: kafka.heartbeatIntervalMs,
          rebalanceTimeout: kafka.rebalanceTimeoutMs,
          maxWaitTime: kafka.fetchMaxWaitMs,
          autocommit: false,
        });
        this.consumer = consumer;
        // A failed rejoin (e.g. a rebalance while the broker is away) leaves the group: start over.
        consumer.on('error', (error: Error) => {
          logger.warn({ err: error, group: groupId }, 'Kafka consumer left its group');
          this.stream?.destroy(error);
        });
        const stream = await consumer.consume({
          topics: [kafkaTopic],
          mode: 'committed',
          fallbackMode: 'earliest',
          autocommit: false,
          sessionTimeout: kafka.sessionTimeoutMs,
          heartbeatInterval: kafka.heartbeatIntervalMs,
          rebalanceTimeout: kafka.rebalanceTimeoutMs,
          maxWaitTime: kafka.fetchMaxWaitMs,
        });
        this.stream = stream;
        if (this.stopping) break;
        for await (const record of stream as AsyncIterable<Record>) {
          await this.dispatch(record);
          if (this.stopping) break;
        }
      } catch (error) {
        if (!this.stopping)
          logger.warn({ err: error, group: groupId }, 'Kafka consumer failed; reconnecting');
      }
      if (this.stopping) break;
      await this.closeClient(true);
      await this.sleep(kafka.retryDelayMs);
    }
  }

  private async dispatch(record: Record): Promise<void> {
    if (!this.tracker.take(record.partition, record.offset)) return;
    const subject = subjectOf(record);
    const slot = await this.slotFor(subject);
    if (slot === 'stopping') return;
    if (slot === 'none') {
      this.tracker.settle(record.partition, record.offset);
      void this.commit();
      return;
    }
    const work = this.deliverUntilSettled(slot, record, subject).finally(() => this.deliveries.delete(work));
    this.deliveries.add(work);
  }

  /** A member whose filter takes `subject` and who has a free slot; waits for one to free up. */
  private async slotFor(subject: string): Promise<Slot> {
    for (;;) {
      if (this.stopping) return 'stopping';
      const eligible = [...this.members].filter(
        (m) => !m.stopped && (m.subjects === undefined || m.subjects.some((p) => subjectMatches(p, subject))),
      );
      if (eligible.length === 0) return 'none';
      const free = eligible.filter((m) => m.active < m.concurrency);
      if (free.length > 0) {
        const member = free[this.turn++ % free.length]!;
        member.active++;
        return member;
      }
      await new Promise<void>((resolve) => this.slotWaiters.add(resolve));
    }
  }

  private wakeSlotWaiters(): void {
    const waiters = [...this.slotWaiters];
    this.slotWaiters.clear();
    for (const wake of waiters) wake();
  }

  private async deliverUntilSettled(first: MemberState, record: Record, subject: string): Promise<void> {
    let member = first;
    let deliveryCount = 1;
    try {
      for (;;) {
        let retryInMs: number | undefined;
        let settled = false;
        const settle: Settle = {
          ack: () => {
            settled = true;
            this.tracker.settle(record.partition, record.offset);
            void this.commit();
          },
          retry: (delayMs) => {
            retryInMs = delayMs;
          },
        };
        try {
          await member.deliver(decodeRecord(this.options.topic, record, deliveryCount), settle);
        } catch (error) {
          // Settling failed (e.g. the dead-letter publish): try the whole delivery again later.
          this.options.logger.warn(
            { err: error, group: this.options.groupId, offset: String(record.offset) },
            'settling a Kafka delivery failed; will deliver again',
          );
          if (!settled) retryInMs = this.options.kafka.retryDelayMs;
        }
        if (settled || retryInMs === undefined) return;
        // Unsettled on stop: the committed offset stays below it, so the group gets it again.
        if (!(await this.sleep(retryInMs))) return;
        deliveryCount++;
        if (member.stopped) {
          member.active--;
          const next = await this.slotFor(subject);
          if (next === 'stopping') return;
          if (next === 'none') {
            this.tracker.settle(record.partition, record.offset);
            void this.commit();
            return;
          }
          member = next;
        }
      }
    } finally {
      member.active--;
      this.wakeSlotWaiters();
    }
  }

  /**
   * Commits what is settled. One commit request at a time; acks settled meanwhile are covered by
   * the next one, so a handler never waits for a commit round trip. Resolves once a commit that
   * includes everything settled before the call completed (or failed: the offset is then covered
   * by a later commit, or its messages are redelivered after a restart).
   */
  private commit(): Promise<void> {
    this.dirty = true;
    this.flushing ??= (async () => {
      try {
        while (this.dirty) {
          this.dirty = false;
          await this.commitOnce();
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private async commitOnce(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || consumer.closed) return;
    const { kafkaTopic } = this.options;
    // Committing a partition another process now owns would move its position backwards.
    const owned = new Set(consumer.assignments?.find((a) => a.topic === kafkaTopic)?.partitions ?? []);
    const due = this.tracker.due().filter((d) => owned.has(d.partition));
    if (due.length === 0) return;
    try {
      await consumer.commit({
        offsets: due.map((d) => ({
          topic: kafkaTopic,
          partition: d.partition,
          offset: d.offset,
          leaderEpoch: -1,
        })),
      });
      for (const d of due) this.tracker.markCommitted(d.partition, d.offset);
    } catch (error) {
      this.options.logger.warn({ err: error, group: this.options.groupId }, 'Kafka offset commit failed');
    }
  }

  /** Waits `ms`; resolves false at once when the group stops. */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const abort = () => {
        clearTimeout(timer);
        this.sleeps.delete(abort);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.sleeps.delete(abort);
        resolve(true);
      }, ms);
      this.sleeps.add(abort);
    });
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.wakeSlotWaiters();
    for (const abort of [...this.sleeps]) abort();
    await this.stream?.close().catch(() => undefined);
    await this.loop;
    await Promise.allSettled([...this.deliveries]);
    await this.commit();
    await this.closeClient(false);
    if (this.options.ephemeral) {
      await this.options.admin
        .deleteGroups({ groups: [this.options.groupId] })
        .catch((error) =>
          this.options.logger.warn(
            { err: error, group: this.options.groupId },
            'could not delete an ephemeral group',
          ),
        );
    }
  }

  private async closeClient(force: boolean): Promise<void> {
    const { stream, consumer } = this;
    this.stream = undefined;
    this.consumer = undefined;
    if (stream && !stream.destroyed) await stream.close().catch(() => undefined);
    if (!consumer) return;
    try {
      await consumer.close(force);
    } catch {
      await Promise.resolve(consumer.close(true)).catch(() => undefined);
    }
  }
}

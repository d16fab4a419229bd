/**
 * The event bus port. Every implementation (in-memory, NATS JetStream, Kafka) passes the same
 * contract suite (`@tideline/bus/testing`), so services never know which broker carries them.
 */

export interface PublishOptions {
  /**
   * Deduplication id. Publishing the same id again within the broker's duplicate window stores it
   * once, and consumers never hand an id to a handler again once a handler acked it.
   */
  msgId: string;
  /** Ordering key: messages of one topic with the same key are delivered in publish order. */
  key?: string;
  headers?: Record<string, string>;
  /**
   * Optimistic concurrency, enforced by the broker where it can be (see
   * {@link EventBus.enforcesExpectations}). When an expectation does not hold, the publish fails
   * with a PublishExpectationError and nothing is stored. A publish whose msgId the broker already
   * holds is answered as a duplicate before any expectation is checked.
   */
  expect?: {
    /**
     * The message is stored only if the last message stored on this very subject is at this
     * position (0: none is retained). A writer that lost its turn (a fenced former owner) is
     * refused this way even when it does not know it lost.
     */
    lastSubjectPosition?: number;
    /**
     * The message is stored only if the last message stored in its topic has this msgId. Publishes
     * sent one after the other without waiting, each expecting the one before it, are stored in
     * that order or not at all: one that was not stored stops every later one.
     */
    lastMsgId?: string;
  };
}

export interface PublishReceipt {
  topic: string;
  /** Position of the message in its topic (1-based, increasing in publish order). */
  position: number;
  /** True when the broker already held a message with this msgId and dropped this one. */
  duplicate: boolean;
}

export interface BusMessage {
  readonly topic: string;
  readonly subject: string;
  readonly msgId: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Uint8Array;
  /** 1 on the first delivery to this group, then 2, 3, … on redeliveries. */
  readonly deliveryCount: number;
  /** Same meaning as {@link PublishReceipt.position}. */
  readonly position: number;
  json<T = unknown>(): T;
}

/**
 * What a handler decides. Returning nothing acks. Throwing is `retry`.
 * - `ack`: handled; never delivered to this group again.
 * - `retry`: deliver again later (after the backoff, or `delayMs`), until the maximum deliveries,
 *   then dead-letter it.
 * - `reject`: will never succeed (bad input); dead-letter it at once.
 */
export type Outcome =
  | 'ack'
  | 'reject'
  | 'retry'
  | { retry: { delayMs: number } }
  | { reject: { reason: string } };

export type Handler = (
  message: BusMessage,
) => Promise<Outcome | undefined | void> | Outcome | undefined | void;

export interface SubscribeOptions {
  topic: string;
  /**
   * Consumer group. Subscribers sharing a group share the messages (each message to one of them,
   * queue semantics); each group receives every message. The group's position survives restarts.
   */
  group: string;
  /** Only these subjects of the topic (`*` one token, `>` the rest). Default: all. */
  subjects?: string[];
  /** Where a group that does not exist yet starts: `first` retained message (default) or only `new` ones. */
  startAt?: 'first' | 'new';
  /** Remove the group when this subscription stops (per-instance fan-out, e.g. one per gateway). */
  ephemeral?: boolean;
  /**
   * Messages handled at the same time by this subscriber. 1 (default) delivers in order: the next
   * message waits until the previous one was acked, also across its redeliveries.
   */
  concurrency?: number;
  /**
   * Messages the transport may hold ahead of the handlers (at least `concurrency`). Higher is
   * faster; lower shares a group's messages more evenly among its subscribers. Order at
   * concurrency 1 holds for any prefetch. Default: the bus's `prefetch`, else `concurrency`.
   */
  prefetch?: number;
  handler: Handler;
  /** Overrides of the bus defaults for this subscription. */
  maxDeliveries?: number;
  backoff?: Partial<BackoffPolicy>;
}

export interface Subscription {
  readonly topic: string;
  readonly group: string;
  /** Stops fetching, lets in-flight handlers finish and settles their messages, then resolves. */
  stop(): Promise<void>;
}

export interface ReadOptions {
  topic: string;
  /** First position to read (inclusive). */
  from: number;
  limit: number;
  subjects?: string[];
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export interface TopicSpec {
  /** Logical name (`websites`); the broker name gets the bus prefix. */
  name: string;
  /** Subject pattern of the topic (`website.>`). */
  subjects: string;
}

export interface BusOptions {
  /** Prefix of every stream/topic/group name, so deployments and tests can share a broker. */
  prefix: string;
  topics: TopicSpec[];
  maxDeliveries: number;
  backoff: BackoffPolicy;
  ackWaitMs: number;
  retentionMs: number;
  duplicateWindowMs: number;
  /** Default {@link SubscribeOptions.prefetch}. */
  prefetch?: number;
  /** Acked msgIds remembered per subscription to drop redeliveries of handled messages. */
  handledIdsRemembered?: number;
  logger?: BusLogger;
  /** Told about publishes, deliveries and dead letters (metrics); see {@link BusObserver}. */
  observer?: BusObserver;
}

/** How a delivery to a group ended: handled, handed back for later, dead-lettered, or dropped as already handled. */
export type DeliveryOutcome = 'ack' | 'retry' | 'dead_letter' | 'duplicate';

/** Why a message was dead-lettered: the handler rejected it, or it failed on every allowed delivery. */
export type DeadLetterCause = 'rejected' | 'max_deliveries';

/**
 * Watches a bus from the shared base, once per event whatever the broker. Calls are synchronous
 * and must not throw; labels passed are topic and group names, never message content.
 */
export interface BusObserver {
  /** A subscription of `group` to `topic` started (its series can be exported at 0 from now on). */
  subscribed?(topic: string, group: string): void;
  published(topic: string, outcome: 'ok' | 'duplicate' | 'error'): void;
  /** One delivery settled; `deliveryCount > 1` marks a redelivery. */
  delivered(topic: string, group: string, outcome: DeliveryOutcome, deliveryCount: number): void;
  /** One message dead-lettered (called once per dead letter, after it was stored). */
  deadLettered(topic: string, group: string, cause: DeadLetterCause): void;
}

/** Messages of a topic a group has not received yet, as the broker counts them. */
export interface ConsumerLag {
  topic: string;
  group: string;
  /** NATS: the consumer's `num_pending`; Kafka: high watermark − committed offset, summed over partitions. */
  pending: number;
}

export interface BusLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
  debug?(object: object, message: string): void;
}

/** Logical name of the topic that holds dead letters; `read({ topic: DEAD_LETTER_TOPIC })` lists them. */
export const DEAD_LETTER_TOPIC = 'dead-letter';

/** Headers of a dead letter, naming where it came from and why it died. */
export const DEAD_LETTER_HEADERS = {
  topic: 'tideline-dl-topic',
  subject: 'tideline-dl-subject',
  group: 'tideline-dl-group',
  reason: 'tideline-dl-reason',
  deliveries: 'tideline-dl-deliveries',
  position: 'tideline-dl-position',
  /** The msgId of the message that died (its dedup id, kept by a redrive). */
  msgId: 'tideline-dl-msg-id',
  /** When it was dead-lettered (ISO 8601). */
  at: 'tideline-dl-at',
} as const;

export interface EventBus {
  /** Connects and provisions topics (and the dead-letter topic) idempotently. */
  start(): Promise<void>;
  /** Resolves once the broker stored the message (durably, for the real brokers). */
  publish(subject: string, data: Uint8Array | object, options: PublishOptions): Promise<PublishReceipt>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Messages of a topic from a position, in order, at most `limit`; fewer at the end of the topic. */
  read(options: ReadOptions): Promise<BusMessage[]>;
  /** True while connected to the broker. */
  healthy(): boolean;
  /**
   * Resolves once {@link healthy} is true: at once when it is, else as soon as the connection is
   * back (one promise per outage, shared by every caller, so waiting costs nothing per call).
   * Never rejects; it stays pending while the broker is away and after the bus closes: race it with
   * your own stop or a timer.
   */
  untilHealthy(): Promise<void>;
  /**
   * True when the broker itself checks {@link PublishOptions.expect} (NATS JetStream, in-memory);
   * false or absent when a publish with `expect` is refused as unsupported (Kafka).
   */
  readonly enforcesExpectations?: boolean;
  /**
   * Lag of every group this bus subscribes to (one entry per topic and group), read from the
   * broker now. A group the broker cannot answer for is left out; absent where a transport has no
   * notion of lag.
   */
  consumerLag?(): Promise<ConsumerLag[]>;
  /**
   * Graceful stop: no new deliveries, in-flight handlers finish and their outcomes are settled
   * with the broker, pending publishes flush, then the connection closes. Nothing acked is lost.
   */
  drain(): Promise<void>;
}

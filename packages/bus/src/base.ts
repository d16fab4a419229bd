import { retryDelayMs } from '@tideline/contracts';
import { BusStateError } from './errors.ts';
import { RecentIds } from './recent-ids.ts';
import { assertPublishableSubject, topicForSubject } from './subjects.ts';
import { busTracingOn, handleTraced, publishTraced } from './tracing.ts';
import {
  type BackoffPolicy,
  type BusLogger,
  type BusMessage,
  type BusObserver,
  type BusOptions,
  type ConsumerLag,
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_TOPIC,
  type EventBus,
  type Outcome,
  type PublishOptions,
  type PublishReceipt,
  type ReadOptions,
  type SubscribeOptions,
  type Subscription,
  type TopicSpec,
} from './types.ts';

const DEFAULT_HANDLED_IDS_REMEMBERED = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How a transport settles one delivery with its broker. */
export interface Settle {
  ack(): Promise<void> | void;
  /** Deliver again after `delayMs`. */
  retry(delayMs: number): Promise<void> | void;
}

export type Decision =
  | { kind: 'ack' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'dead-letter'; reason: string };

const silentLogger: BusLogger = { warn() {}, error() {} };
const silentObserver: BusObserver = { published() {}, delivered() {}, deadLettered() {} };

/**
 * Delay before delivery number `deliveryCount + 1`: exponential from `initialMs`, capped at
 * `maxMs`, with equal jitter (between half that and all of it), so handlers failing together retry
 * spread out, yet never sooner than half the delay.
 */
export function backoffDelay(policy: BackoffPolicy, deliveryCount: number): number {
  return retryDelayMs({ ...policy, jitter: 'equal' }, deliveryCount - 1);
}

/**
 * Everything the brokers share: topic resolution, handler outcomes, bounded redelivery with
 * backoff, dead-lettering, dropping redeliveries of handled ids, and drain bookkeeping.
 * A transport implements only connect/provision, raw publish, raw consume and raw read.
 */
export abstract class BaseEventBus implements EventBus {
  protected readonly logger: BusLogger;
  protected readonly observer: BusObserver;
  protected readonly topics: TopicSpec[];
  private readonly subscriptions = new Set<Subscription>();
  private state: 'new' | 'started' | 'draining' | 'closed' = 'new';

  constructor(protected readonly options: BusOptions) {
    this.logger = options.logger ?? silentLogger;
    this.observer = options.observer ?? silentObserver;
    this.topics = [...options.topics, { name: DEAD_LETTER_TOPIC, subjects: 'dead-letter.>' }];
  }

  // ---- the transport seam ----------------------------------------------------------------------
  protected abstract connect(): Promise<void>;
  protected abstract doPublish(
    topic: TopicSpec,
    subject: string,
    data: Uint8Array,
    options: PublishOptions,
  ): Promise<PublishReceipt>;
  /**
   * Starts delivering to `deliver`, which resolves once the delivery is settled. The transport
   * must not have more than `concurrency` deliveries of this subscription unsettled at once.
   */
  protected abstract doSubscribe(
    topic: TopicSpec,
    options: SubscribeOptions,
    deliver: (message: BusMessage, settle: Settle) => Promise<void>,
  ): Promise<{ stop(): Promise<void> }>;
  protected abstract doRead(topic: TopicSpec, options: ReadOptions): Promise<BusMessage[]>;
  protected abstract close(): Promise<void>;
  /**
   * Messages of `topic` the broker holds for `group` that it has not delivered yet; undefined when
   * the transport cannot tell (the group is then left out of {@link consumerLag}).
   */
  protected async pendingOf(_topic: TopicSpec, _group: string): Promise<number | undefined> {
    return undefined;
  }
  abstract healthy(): boolean;
  /** What {@link untilHealthy} answers while the bus is not healthy: one for the whole outage. */
  private healthyAgain: { promise: Promise<void>; resolve: () => void } | undefined;

  untilHealthy(): Promise<void> {
    if (this.healthy()) return Promise.resolve();
    if (!this.healthyAgain) {
      let resolve!: () => void;
      const promise = new Promise<void>((settle) => {
        resolve = settle;
      });
      this.healthyAgain = { promise, resolve };
    }
    return this.healthyAgain.promise;
  }

  /** A transport calls this when it may have become healthy again (reconnected, reachable again). */
  protected healthChanged(): void {
    if (!this.healthyAgain || !this.healthy()) return;
    const waiting = this.healthyAgain;
    this.healthyAgain = undefined;
    waiting.resolve();
  }

  /** See {@link EventBus.enforcesExpectations}; a transport that checks `expect` says true. */
  readonly enforcesExpectations: boolean = false;

  // ---- the shared protocol ---------------------------------------------------------------------
  async start(): Promise<void> {
    if (this.state !== 'new') throw new BusStateError(`bus cannot start: it is ${this.state}`);
    await this.connect();
    this.state = 'started';
    this.healthChanged();
  }

  /** The broker-side name of a logical topic or group. */
  protected brokerName(name: string): string {
    return `${this.options.prefix}_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  /** Subject as stored in the broker (prefixed, so deployments sharing a broker never meet). */
  protected brokerSubject(subject: string): string {
    return `${this.options.prefix}.${subject}`;
  }

  protected logicalSubject(brokerSubject: string): string {
    return brokerSubject.slice(this.options.prefix.length + 1);
  }

  protected topic(name: string): TopicSpec {
    const topic = this.topics.find((t) => t.name === name);
    if (!topic) throw new BusStateError(`unknown topic ${JSON.stringify(name)}`);
    return topic;
  }

  async publish(
    subject: string,
    data: Uint8Array | object,
    options: PublishOptions,
  ): Promise<PublishReceipt> {
    // Handlers still running during a drain may publish their follow-up events.
    this.assertStarted('publish', ['started', 'draining']);
    assertPublishableSubject(subject);
    const bytes = data instanceof Uint8Array ? data : encoder.encode(JSON.stringify(data));
    const topic = topicForSubject(this.topics, subject);
    const send = (opts: typeof options) => this.doPublish(topic, subject, bytes, opts);
    try {
      const receipt = busTracingOn()
        ? await publishTraced(topic.name, subject, options, send)
        : await send(options);
      this.observer.published(topic.name, receipt.duplicate ? 'duplicate' : 'ok');
      return receipt;
    } catch (error) {
      this.observer.published(topic.name, 'error');
      throw error;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertStarted('subscribe');
    const topic = this.topic(options.topic);
    const maxDeliveries = options.maxDeliveries ?? this.options.maxDeliveries;
    const backoff: BackoffPolicy = { ...this.options.backoff, ...options.backoff };
    const handled = new RecentIds(this.options.handledIdsRemembered ?? DEFAULT_HANDLED_IDS_REMEMBERED);
    const inFlight = new Set<Promise<void>>();

    // Never rejects: a failure to dead-letter or to settle is logged and the message is handed
    // back for a later delivery, so a transport's delivery loop never stops on it.
    const deliver = async (message: BusMessage, settle: Settle): Promise<void> => {
      let settled = false;
      const work = (async () => {
        try {
          if (handled.has(message.msgId)) {
            settled = true;
            await settle.ack();
            this.observer.delivered(options.topic, options.group, 'duplicate', message.deliveryCount);
            return;
          }
          const decision = await this.decide(options, message, maxDeliveries, backoff);
          if (decision.kind === 'retry') {
            settled = true;
            await settle.retry(decision.delayMs);
            this.observer.delivered(options.topic, options.group, 'retry', message.deliveryCount);
            return;
          }
          // A dead-lettered id is not remembered as handled, so a redrive of it reaches this subscriber.
          if (decision.kind === 'dead-letter') await this.deadLetter(options.group, message, decision.reason);
          else handled.add(message.msgId);
          settled = true;
          await settle.ack();
          this.observer.delivered(
            options.topic,
            options.group,
            decision.kind === 'dead-letter' ? 'dead_letter' : 'ack',
            message.deliveryCount,
          );
        } catch (error) {
          this.logger.error(
            { err: error, topic: options.topic, group: options.group, msgId: message.msgId },
            'could not settle a delivery; it will be delivered again',
          );
          if (!settled) {
            try {
              await settle.retry(backoffDelay(backoff, message.deliveryCount));
            } catch {
              // The broker redelivers an unsettled message after its ack wait.
            }
          }
        }
      })();
      inFlight.add(work);
      try {
        await work;
      } finally {
        inFlight.delete(work);
      }
    };

    const running = await this.doSubscribe(topic, options, deliver);
    this.observer.subscribed?.(options.topic, options.group);
    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      topic: options.topic,
      group: options.group,
      stop: () => {
        stopped ??= (async () => {
          await running.stop();
          await Promise.allSettled([...inFlight]);
          this.subscriptions.delete(subscription);
        })();
        return stopped;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async read(options: ReadOptions): Promise<BusMessage[]> {
    this.assertStarted('read');
    if (options.limit <= 0) return [];
    return this.doRead(this.topic(options.topic), { ...options, from: Math.max(1, options.from) });
  }

  async consumerLag(): Promise<ConsumerLag[]> {
    if (this.state !== 'started') return [];
    const seen = new Map<string, { topic: string; group: string }>();
    for (const s of this.subscriptions)
      seen.set(`${s.topic}\0${s.group}`, { topic: s.topic, group: s.group });
    const answers = await Promise.all(
      [...seen.values()].map(async ({ topic, group }) => {
        try {
          const pending = await this.pendingOf(this.topic(topic), group);
          return pending === undefined ? undefined : { topic, group, pending };
        } catch {
          return undefined;
        }
      }),
    );
    return answers.filter((a): a is ConsumerLag => a !== undefined);
  }

  async drain(): Promise<void> {
    if (this.state === 'closed' || this.state === 'draining') return;
    const wasStarted = this.state === 'started';
    this.state = 'draining';
    await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    if (wasStarted) await this.close();
    this.state = 'closed';
  }

  private async decide(
    options: SubscribeOptions,
    message: BusMessage,
    maxDeliveries: number,
    backoff: BackoffPolicy,
  ): Promise<Decision> {
    let outcome: Outcome | undefined | void;
    try {
      outcome = busTracingOn()
        ? await handleTraced(message, options.group, async () => options.handler(message))
        : await options.handler(message);
    } catch (error) {
      this.logger.warn(
        {
          err: error,
          topic: options.topic,
          group: options.group,
          subject: message.subject,
          msgId: message.msgId,
          deliveryCount: message.deliveryCount,
        },
        'handler failed; will retry',
      );
      outcome = 'retry';
    }
    if (outcome === undefined || outcome === 'ack') return { kind: 'ack' };
    if (outcome === 'reject') return { kind: 'dead-letter', reason: 'rejected' };
    if (typeof outcome === 'object' && 'reject' in outcome)
      return { kind: 'dead-letter', reason: `rejected: ${outcome.reject.reason}` };
    if (message.deliveryCount >= maxDeliveries)
      return { kind: 'dead-letter', reason: `max-deliveries (${maxDeliveries})` };
    const delayMs =
      typeof outcome === 'object' && 'retry' in outcome
        ? outcome.retry.delayMs
        : backoffDelay(backoff, message.deliveryCount);
    return { kind: 'retry', delayMs };
  }

  private async deadLetter(group: string, message: BusMessage, reason: string): Promise<void> {
    this.logger.error(
      { topic: message.topic, group, subject: message.subject, msgId: message.msgId, reason },
      'dead-lettered',
    );
    const subject = `dead-letter.${message.topic.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    await this.doPublish(this.topic(DEAD_LETTER_TOPIC), subject, message.data, {
      // Per position: a redelivery dead-letters once; a redriven copy that dies again is a new dead letter.
      msgId: `${group}:${message.position}:${message.msgId}`,
      headers: {
        ...message.headers,
        [DEAD_LETTER_HEADERS.topic]: message.topic,
        [DEAD_LETTER_HEADERS.subject]: message.subject,
        [DEAD_LETTER_HEADERS.group]: group,
        [DEAD_LETTER_HEADERS.reason]: reason,
        [DEAD_LETTER_HEADERS.deliveries]: String(message.deliveryCount),
        [DEAD_LETTER_HEADERS.position]: String(message.position),
        [DEAD_LETTER_HEADERS.msgId]: message.msgId,
        [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
      },
      ...(message.key !== undefined ? { key: message.key } : {}),
    });
    this.observer.deadLettered(
      message.topic,
      group,
      reason.startsWith('rejected') ? 'rejected' : 'max_deliveries',
    );
  }

  private assertStarted(operation: string, allowed: readonly string[] = ['started']): void {
    if (!allowed.includes(this.state))
      throw new BusStateError(`cannot ${operation}: the bus is ${this.state}`);
  }
}

/** A decoded message; `json()` parses lazily once. */
export class DecodedMessage implements BusMessage {
  private parsed: unknown;
  private isParsed = false;
  constructor(
    readonly topic: string,
    readonly subject: string,
    readonly msgId: string,
    readonly key: string | undefined,
    readonly headers: Readonly<Record<string, string>>,
    readonly data: Uint8Array,
    readonly deliveryCount: number,
    readonly position: number,
  ) {}
  json<T = unknown>(): T {
    if (!this.isParsed) {
      this.parsed = JSON.parse(decoder.decode(this.data));
      this.isParsed = true;
    }
    return this.parsed as T;
  }
}

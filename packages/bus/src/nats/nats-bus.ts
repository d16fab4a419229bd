import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  PubHeaders,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos, headers as natsHeaders } from '@nats-io/transport-node';
import { busSettings } from '@tideline/config';
import { BaseEventBus, DecodedMessage, type Settle } from '../base.ts';
import { BusUnavailableError, PublishExpectationError } from '../errors.ts';
import type {
  BusMessage,
  BusOptions,
  PublishOptions,
  PublishReceipt,
  ReadOptions,
  SubscribeOptions,
  TopicSpec,
} from '../types.ts';
import { type NatsCredentials, natsConnectParts, printableServers } from './credentials.ts';
import { type PubAck, PublishAcks } from './publish-acks.ts';

export interface NatsBusOptions extends BusOptions {
  /** Server URLs; credentials in them (`nats://user:pass@host`, `nats://token@host`) are used. */
  servers: string | string[];
  /** User/password or token and TLS; they win over credentials in the URLs. */
  credentials?: NatsCredentials;
  /** Connection name shown by the server (`nats server report connections`). */
  name?: string;
  /** How long one publish or management request may take before it fails. */
  requestTimeoutMs?: number;
  /** Wait between reconnect attempts; the client reconnects forever. */
  reconnectWaitMs?: number;
  /** Idle time after which the server removes an ephemeral group whose subscriber vanished. */
  ephemeralInactiveMs?: number;
}

const KEY_HEADER = 'Tideline-Key';
/** The documented defaults of the settings (packages/config), for a bus built without them. */
const DEFAULT_REQUEST_TIMEOUT_MS = busSettings.natsRequestTimeoutMs.default!;
const DEFAULT_RECONNECT_WAIT_MS = busSettings.natsReconnectWaitMs.default!;
const DEFAULT_EPHEMERAL_INACTIVE_MS = busSettings.natsEphemeralInactiveMs.default!;
const READ_EXPIRES_MS = 1_000;
/** How often a retry wait checks whether the subscription is stopping. */
const STOP_CHECK_MS = 50;
const API_STREAM_NOT_FOUND = 10059;
const API_CONSUMER_NOT_FOUND = 10014;

/**
 * Acks of one subscription, written together at the end of the event-loop turn that settled them:
 * the deliveries of one socket read cost one write instead of one each. An ack that cannot be
 * written is reported; the server then redelivers its message after the ack wait.
 */
class AckBatch {
  private pending: JsMsg[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly onError: (error: unknown) => void) {}

  add(m: JsMsg): void {
    this.pending.push(m);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.pending;
    this.pending = [];
    for (const m of batch) {
      try {
        m.ack();
      } catch (error) {
        this.onError(error);
      }
    }
  }
}

/**
 * The event bus over NATS JetStream. One stream per topic (`<prefix>_<topic>`), file storage,
 * broker-side deduplication by msgId (`Nats-Msg-Id`) within the duplicate window, one durable
 * pull consumer per group with explicit acks and `max_ack_pending` equal to the prefetch. Retries
 * wait in place, so delivery order at concurrency 1 holds across redeliveries and any prefetch;
 * after a crash the server redelivers every unacked message, in order, after the ack wait.
 */
export class NatsEventBus extends BaseEventBus {
  private nc: NatsConnection | undefined;
  /** Consumers (subscribe, read); publishes go through {@link acks}. */
  private js: JetStreamClient | undefined;
  private acks: PublishAcks | undefined;
  private jsm: JetStreamManager | undefined;
  private connected = false;

  constructor(private readonly natsOptions: NatsBusOptions) {
    super(natsOptions);
  }

  /** JetStream checks `Nats-Expected-Last-Subject-Sequence` on the server. */
  override readonly enforcesExpectations = true;

  private get timeoutMs(): number {
    return this.natsOptions.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  protected async connect(): Promise<void> {
    try {
      this.nc = await connect({
        ...natsConnectParts(this.natsOptions.servers, this.natsOptions.credentials),
        name: this.natsOptions.name ?? `tideline-${this.options.prefix}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: this.natsOptions.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
        timeout: this.timeoutMs,
        // A stack captured per request would cost every publish and ack; errors name their subject.
        noAsyncTraces: true,
      });
    } catch (error) {
      // The cause names what the server refused (e.g. "Authorization Violation"), never a credential.
      const reason = error instanceof Error ? `: ${printableServers(error.message)}` : '';
      throw new BusUnavailableError(
        `cannot connect to NATS at ${printableServers(this.natsOptions.servers)}${reason}`,
        { cause: error },
      );
    }
    this.connected = true;
    void this.watchStatus(this.nc);
    this.jsm = await jetstreamManager(this.nc, { timeout: this.timeoutMs });
    this.js = jetstream(this.nc, { timeout: this.timeoutMs });
    this.acks = new PublishAcks(this.nc, this.timeoutMs);
    for (const topic of this.topics) await this.provisionStream(topic);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.acks?.failWaiting('the connection to NATS was lost before its ack came');
      }
      if (status.type === 'reconnect') {
        this.connected = true;
        this.healthChanged();
      }
    }
  }

  healthy(): boolean {
    return this.connected && this.nc !== undefined && !this.nc.isClosed();
  }

  private streamName(topic: TopicSpec): string {
    return this.brokerName(topic.name);
  }

  private async provisionStream(topic: TopicSpec): Promise<void> {
    const config: Partial<StreamConfig> & { name: string } = {
      name: this.streamName(topic),
      subjects: [this.brokerSubject(topic.subjects)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(this.options.retentionMs),
      duplicate_window: nanos(Math.min(this.options.duplicateWindowMs, this.options.retentionMs)),
      num_replicas: 1,
    };
    const jsm = this.jsm!;
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== API_STREAM_NOT_FOUND) throw error;
      await jsm.streams.add(config);
    }
  }

  protected async doPublish(
    topic: TopicSpec,
    subject: string,
    data: Uint8Array,
    options: PublishOptions,
  ): Promise<PublishReceipt> {
    // While the client reconnects, nats.js would buffer the message and drop the buffer when it
    // dials again: the publish would wait out the request timeout for an ack that cannot come.
    if (!this.connected)
      throw new BusUnavailableError(`publish of ${subject} failed: not connected to NATS (reconnecting)`);
    const h = natsHeaders();
    for (const [name, value] of Object.entries(options.headers ?? {})) h.set(name, value);
    if (options.key !== undefined) h.set(KEY_HEADER, options.key);
    h.set(PubHeaders.MsgIdHdr, options.msgId);
    // The stream that must store it: a subject no stream of this bus takes is refused, not stored elsewhere.
    h.set(PubHeaders.ExpectedStreamHdr, this.streamName(topic));
    if (options.expect?.lastSubjectPosition !== undefined)
      h.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(options.expect.lastSubjectPosition));
    if (options.expect?.lastMsgId !== undefined)
      h.set(PubHeaders.ExpectedLastMsgIdHdr, options.expect.lastMsgId);
    let ack: PubAck;
    try {
      ack = await this.acks!.publish(this.brokerSubject(subject), data, h);
    } catch (error) {
      if (error instanceof PublishExpectationError || error instanceof BusUnavailableError) throw error;
      throw new BusUnavailableError(`publish of ${subject} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { topic: topic.name, position: ack.seq, duplicate: ack.duplicate };
  }

  private toMessage(topic: TopicSpec, m: JsMsg, deliveryCount = m.info.deliveryCount): BusMessage {
    const headers: Record<string, string> = {};
    let key: string | undefined;
    let msgId = `seq:${m.seq}`;
    if (m.headers) {
      for (const [name, values] of m.headers) {
        const value = values[0] ?? '';
        if (name === KEY_HEADER) key = value;
        else if (name === PubHeaders.MsgIdHdr) msgId = value;
        else headers[name] = value;
      }
    }
    return new DecodedMessage(
      topic.name,
      this.logicalSubject(m.subject),
      msgId,
      key,
      headers,
      m.data,
      deliveryCount,
      m.seq,
    );
  }

  protected async doSubscribe(
    topic: TopicSpec,
    options: SubscribeOptions,
    deliver: (message: BusMessage, settle: Settle) => Promise<void>,
  ): Promise<{ stop(): Promise<void> }> {
    const stream = this.streamName(topic);
    const concurrency = Math.max(1, options.concurrency ?? 1);
    const prefetch = Math.max(concurrency, options.prefetch ?? this.options.prefetch ?? concurrency);
    const name = this.brokerName(options.group);
    const config: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: options.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      ...this.filterOf(topic, options.subjects),
      ack_wait: nanos(this.options.ackWaitMs),
      max_ack_pending: prefetch,
      // Dead-lettering is decided by the shared base; the server must never give up on its own.
      max_deliver: -1,
    };
    if (options.ephemeral) {
      config.name = name;
      config.inactive_threshold = nanos(
        this.natsOptions.ephemeralInactiveMs ?? DEFAULT_EPHEMERAL_INACTIVE_MS,
      );
    } else {
      config.durable_name = name;
    }
    await this.ensureConsumer(stream, name, config);
    const consumer = await this.js!.consumers.get(stream, name);
    const messages: ConsumerMessages = await consumer.consume({ max_messages: prefetch });
    const inFlight = new Set<Promise<void>>();
    const acks = new AckBatch((error) =>
      this.logger.error(
        { err: error, topic: topic.name, group: options.group },
        'could not ack a delivery; it will be delivered again',
      ),
    );
    let stopping = false;

    // Retries happen in place: the message stays unacked (kept alive with `working()`) and the
    // messages behind it wait, so order holds at concurrency 1 whatever the prefetch. A stop during
    // the wait gives the message back to the server for the next subscriber.
    const handle = async (m: JsMsg): Promise<void> => {
      let deliveryCount = m.info.deliveryCount;
      for (;;) {
        let retryDelayMs: number | undefined;
        await deliver(this.toMessage(topic, m, deliveryCount), {
          ack: () => acks.add(m),
          retry: (delayMs) => {
            retryDelayMs = delayMs;
          },
        });
        if (retryDelayMs === undefined) return;
        await this.waitWorking(m, retryDelayMs, () => stopping);
        if (stopping) {
          m.nak();
          return;
        }
        deliveryCount++;
      }
    };

    const loop = (async () => {
      for await (const m of messages) {
        if (stopping) break;
        const work = handle(m).finally(() => inFlight.delete(work));
        inFlight.add(work);
        if (concurrency === 1) await work;
        else if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
    })();

    return {
      stop: async () => {
        stopping = true;
        await messages.close();
        await loop.catch(() => undefined);
        await Promise.allSettled([...inFlight]);
        acks.flush();
        // Acks are written without waiting for a reply; flushing makes sure the server has them.
        await this.nc?.flush().catch(() => undefined);
        if (options.ephemeral) await this.jsm!.consumers.delete(stream, name).catch(() => false);
      },
    };
  }

  protected override async pendingOf(topic: TopicSpec, group: string): Promise<number | undefined> {
    const info = await this.jsm?.consumers.info(this.streamName(topic), this.brokerName(group));
    return info?.num_pending;
  }

  /** Waits `delayMs`, telling the server every half ack-wait that the message is still being worked on. */
  private async waitWorking(m: JsMsg, delayMs: number, stopped: () => boolean): Promise<void> {
    const deadline = Date.now() + delayMs;
    const heartbeatMs = Math.max(1, Math.floor(this.options.ackWaitMs / 2));
    const stepMs = Math.min(heartbeatMs, STOP_CHECK_MS);
    let lastBeat = Date.now();
    while (Date.now() < deadline && !stopped()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(stepMs, deadline - Date.now())));
      if (Date.now() - lastBeat >= heartbeatMs) {
        m.working();
        lastBeat = Date.now();
      }
    }
  }

  /**
   * One subject uses `filter_subject`, understood by every JetStream server; several need
   * `filter_subjects` (nats-server 2.10+).
   */
  private filterOf(
    topic: TopicSpec,
    subjects: string[] | undefined,
  ): { filter_subject?: string; filter_subjects?: string[] } {
    const list = (subjects ?? [topic.subjects]).map((s) => this.brokerSubject(s));
    return list.length === 1 ? { filter_subject: list[0]! } : { filter_subjects: list };
  }

  private async ensureConsumer(stream: string, name: string, config: Partial<ConsumerConfig>): Promise<void> {
    const jsm = this.jsm!;
    try {
      await jsm.consumers.info(stream, name);
      const { deliver_policy: _policy, ...updatable } = config;
      await jsm.consumers.update(stream, name, updatable);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== API_CONSUMER_NOT_FOUND) throw error;
      await jsm.consumers.add(stream, config);
    }
  }

  protected async doRead(topic: TopicSpec, options: ReadOptions): Promise<BusMessage[]> {
    const stream = this.streamName(topic);
    const info = await this.jsm!.streams.info(stream);
    if (info.state.messages === 0 || options.from > info.state.last_seq) return [];
    const filter = this.filterOf(topic, options.subjects);
    const consumer = await this.js!.consumers.get(stream, {
      filter_subjects: filter.filter_subject ?? filter.filter_subjects ?? [],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: options.from,
    });
    const out: BusMessage[] = [];
    try {
      // A fetch may come back short of `limit` before the end of the topic (its expiry passed while
      // the server was slow to deliver, seen on a loaded machine): a short page is not the end.
      // The end is a message with nothing pending after it, or a fetch that delivers nothing.
      let atEnd = false;
      while (!atEnd && out.length < options.limit) {
        const batch = await consumer.fetch({
          max_messages: options.limit - out.length,
          expires: READ_EXPIRES_MS,
        });
        let delivered = 0;
        for await (const m of batch) {
          delivered += 1;
          out.push(this.toMessage(topic, m));
          if (m.info.pending === 0) atEnd = true;
          if (atEnd || out.length >= options.limit) break;
        }
        if (delivered === 0) atEnd = true;
      }
    } finally {
      await consumer.delete().catch(() => false);
    }
    return out;
  }

  protected async close(): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    this.acks?.close('the bus is closing');
    await nc.drain();
    this.connected = false;
  }
}

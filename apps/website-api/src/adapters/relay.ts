import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { type EventBus, PublishExpectationError } from '@tideline/bus';
import { subjects, type WebsiteEvent } from '@tideline/contracts';
import { Counter, contextFromCarrier, Gauge, type Logger, type Registry } from '@tideline/runtime';
import type { PostgresRelayState, RelayLease } from './event-log/relay-state.ts';

export interface EventRelayOptions {
  /** The lease and the progress, in the database next to the log. */
  state: PostgresRelayState;
  /** The bus to publish to, when one is up. */
  bus: () => EventBus | undefined;
  batchSize: number;
  intervalMs: number;
  /** At most how often progress is written to the database (0: after every pass). */
  progressIntervalMs: number;
  leaseMs: number;
  logger: Logger;
  metrics: Registry;
  /** Identifies this replica as the lease holder: the service's instance id. */
  owner: string;
}

interface RelayMetrics {
  published: Counter;
  readFromLog: Counter;
  failures: Counter;
  lag: Gauge;
  leader: Gauge;
}

function relayMetrics(registry: Registry, state: PostgresRelayState, logger: Logger): RelayMetrics {
  // Read from the database on scrape, so every replica reports the same backlog whoever leads,
  // and a relay that stopped making progress shows a growing age.
  let sampled: Promise<{ events: number; oldestSeconds: number } | undefined> | undefined;
  const backlog = () => {
    sampled ??= state
      .backlog()
      .catch((error) => {
        logger.debug({ err: error }, 'relay: backlog not readable for /metrics');
        return undefined;
      })
      .finally(() => {
        setImmediate(() => {
          sampled = undefined;
        });
      });
    return sampled;
  };
  new Gauge({
    name: 'tideline_website_api_relay_unpublished_events',
    help: 'Committed events of the websites log not yet published to the broker (last event id minus last published id), read from the database on scrape.',
    registers: [registry],
    async collect() {
      const now = await backlog();
      if (now) this.set(now.events);
    },
  });
  new Gauge({
    name: 'tideline_website_api_relay_lag_seconds',
    help: 'Seconds since the oldest committed event not yet published was committed (0 when the relay is caught up), read from the database on scrape.',
    registers: [registry],
    async collect() {
      const now = await backlog();
      if (now) this.set(now.oldestSeconds);
    },
  });
  return {
    published: new Counter({
      name: 'tideline_website_api_relay_published_total',
      help: 'Events of the websites log the relay published to the broker.',
      registers: [registry],
    }),
    readFromLog: new Counter({
      name: 'tideline_website_api_relay_read_from_log_total',
      help: 'Events the relay read back from the log to publish them (another replica wrote them, or they were no longer in memory); the others it published from memory.',
      registers: [registry],
    }),
    failures: new Counter({
      name: 'tideline_website_api_relay_publish_failures_total',
      help: 'Publishes to the broker that failed; the event stays in the log and is retried.',
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'tideline_website_api_relay_lag_events',
      help: 'Committed events not yet published (as last seen by this replica).',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'tideline_website_api_relay_leader',
      help: '1 while this replica holds the relay lease and publishes, else 0.',
      registers: [registry],
    }),
  };
}

/**
 * Publishes the committed events of the log to the broker as `website.<type>`, in id order, with
 * the event id as the deduplication id. Publishing never blocks a write: a write only hands its
 * committed event over (`committed`). The events this replica committed are published from
 * memory when they continue the published ids without a gap; anything else (another replica's
 * events, a pass of the interval, an event no longer remembered) is read from the log. Progress is
 * written to the database at most every `progressIntervalMs`, before the lease is renewed or
 * handed back, and when the relay stops.
 *
 * Guarantees: every committed event is published, in id order, also after a broker outage (the
 * relay retries every interval) or a crash between commit and publish (progress is kept in
 * `ws_relay_state`; the next relay, on any replica, continues from there). Among replicas only
 * the holder of the lease publishes; should two ever overlap (a stalled holder whose lease ran
 * out), an event may be published twice with the same msgId: the broker drops the copy within its
 * duplicate window and consumers deduplicate by eventId, so at-least-once stays harmless.
 */
export class EventRelay {
  readonly owner: string;
  private readonly metrics: RelayMetrics;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private leader = false;
  /** How far this replica published while it holds the lease (undefined: read it with the lease). */
  private publishedId: number | undefined;
  /** When the lease is renewed (performance.now() time). */
  private renewAt = 0;
  /** Events this replica committed and the relay has not published yet, by id (at most `batchSize`). */
  private readonly remembered = new Map<number, WebsiteEvent>();
  /** A pass for committed events is due after this turn of the event loop. */
  private passScheduled = false;
  /** A pass is due when the bus, found disconnected, is connected again. */
  private waitingForBus = false;
  /** The next pass must read the log to its end (a kick of the interval or of the broker's return). */
  private readTheLog = false;
  /** Published id not yet written to the database, and when it may be (performance.now() time). */
  private unrecordedId: number | undefined;
  private progressDueAt = 0;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EventRelayOptions) {
    this.owner = options.owner;
    this.metrics = relayMetrics(options.metrics, options.state, options.logger);
  }

  /** Starts the loop that publishes whatever is left behind, every interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.kick();
  }

  /** Publishes soon (coalesced with a run in progress): whatever the log holds beyond the published ids. */
  kick(): void {
    this.readTheLog = true;
    this.pass();
  }

  /** Publishes soon an event this replica committed (the event as the log holds it). */
  committed(event: WebsiteEvent): void {
    if (this.stopped) return;
    this.remembered.set(event.eventId, event);
    if (this.remembered.size > this.options.batchSize) {
      // The oldest goes; the log still has it.
      const oldest = this.remembered.keys().next();
      if (!oldest.done) this.remembered.delete(oldest.value);
    }
    // After the current turn of the event loop: the writer's HTTP answer goes out first, and the
    // events committed together (one group commit) start one pass.
    if (this.passScheduled) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      this.pass();
    });
  }

  private pass(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    // A pass belongs to no request (a write only kicks it): each event is published in its own
    // writer's trace, from the context stored with it.
    this.running = context.with(ROOT_CONTEXT, async () => {
      try {
        do {
          this.again = false;
          const readTheLog = this.readTheLog;
          this.readTheLog = false;
          await this.runOnce(readTheLog);
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    });
  }

  /** True while this replica holds the lease. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * One relay pass: takes or renews the lease, then publishes batches until the log is caught up
   * or a publish fails; a database failure ends the pass (the next interval retries). A pass that
   * need not `readTheLog` ends once the remembered events are published.
   */
  private async runOnce(readTheLog: boolean): Promise<void> {
    const bus = this.options.bus();
    if (!bus) return;
    if (!bus.healthy()) {
      // Publishes again the moment the broker is back, not at the next interval.
      if (!this.waitingForBus) {
        this.waitingForBus = true;
        void bus.untilHealthy().then(() => {
          this.waitingForBus = false;
          this.kick();
        });
      }
      return;
    }
    try {
      while (!this.stopped) {
        const lease = await this.acquireLease();
        if (lease === undefined) {
          // Another replica publishes, from the log.
          this.remembered.clear();
          return;
        }
        const from = lease.publishedId;
        this.forgetUpTo(from);
        if (lease.lastEventId !== undefined) {
          this.metrics.lag.set(Math.max(0, lease.lastEventId - from));
          if (lease.lastEventId <= from) return;
        }
        const fromMemory = this.rememberedAfter(from);
        let events = fromMemory;
        if (events.length === 0) {
          events = await this.options.state.eventsAfter(from, this.options.batchSize);
          this.metrics.readFromLog.inc(events.length);
        }
        if (events.length === 0) {
          this.metrics.lag.set(0);
          return;
        }
        const { published = from, failed, expectationRefused } = await this.publishInOrder(bus, events);
        if (published > from) {
          this.publishedId = published;
          this.forgetUpTo(published);
          await this.progressed(published);
        }
        if (lease.lastEventId !== undefined) this.metrics.lag.set(Math.max(0, lease.lastEventId - published));
        if (failed) {
          // Refused because another message was stored between two of this pass's events (an
          // operator's redrive of a website event, say): the next pass starts expecting nothing,
          // so it goes at once. It publishes at least the event that was refused, so this ends.
          if (expectationRefused && published > from) this.again = true;
          return;
        }
        if (fromMemory.length > 0) {
          if (!readTheLog && fromMemory.length < this.options.batchSize) return;
        } else if (events.length < this.options.batchSize) return;
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'relay: database unavailable; retrying next interval');
    }
  }

  /**
   * Publishes `events` (consecutive ids) in id order; answers the last id up to which every one is
   * stored, whether one failed, and whether that was the broker refusing its expectation. Where the broker checks expectations (NATS JetStream), they go
   * out together without waiting for one another's acks, each but the first expecting the one
   * before it as the topic's last message: one that is not stored (refused, lost on the way) makes
   * the broker refuse every later one, so the topic never holds an event ahead of an earlier one.
   * The first expects nothing: the topic may end with anything the broker already holds (a
   * republished event is answered as a duplicate before any expectation is checked). Elsewhere
   * (Kafka) each publish waits for the one before it.
   */
  private async publishInOrder(
    bus: EventBus,
    events: WebsiteEvent[],
  ): Promise<{ published: number | undefined; failed: boolean; expectationRefused?: boolean }> {
    const chained = bus.enforcesExpectations === true;
    const send = (event: WebsiteEvent, previous: WebsiteEvent | undefined) =>
      // In the trace of the request that wrote the event: the publish span is its child.
      context.with(contextFromCarrier(event.trace), () =>
        bus.publish(subjects.website(event.type), event, {
          msgId: String(event.eventId),
          key: this.options.state.topic,
          ...(previous ? { expect: { lastMsgId: String(previous.eventId) } } : {}),
        }),
      );
    const sent = chained
      ? events.map((event, i) => {
          const receipt = send(event, events[i - 1]);
          // Awaited below in order; those after a failure are only refused with it.
          receipt.catch(() => {});
          return receipt;
        })
      : undefined;
    let published: number | undefined;
    for (const [i, event] of events.entries()) {
      try {
        await (sent ? sent[i] : send(event, undefined));
      } catch (error) {
        this.metrics.failures.inc();
        this.options.logger.warn(
          { err: error, eventId: event.eventId },
          'relay: publish failed; the event stays in the log and is retried',
        );
        return { published, failed: true, expectationRefused: error instanceof PublishExpectationError };
      }
      published = event.eventId;
      this.metrics.published.inc();
    }
    return { published, failed: false };
  }

  /** The remembered events from `after + 1` on without a gap, at most `batchSize`. */
  private rememberedAfter(after: number): WebsiteEvent[] {
    const events: WebsiteEvent[] = [];
    for (let id = after + 1; events.length < this.options.batchSize; id++) {
      const event = this.remembered.get(id);
      if (!event) break;
      events.push(event);
    }
    return events;
  }

  private forgetUpTo(publishedId: number): void {
    for (const id of this.remembered.keys()) if (id <= publishedId) this.remembered.delete(id);
  }

  /** Notes that every event up to `publishedId` is published; writes it now when due, else soon. */
  private async progressed(publishedId: number): Promise<void> {
    this.unrecordedId = Math.max(this.unrecordedId ?? 0, publishedId);
    const wait = this.progressDueAt - performance.now();
    if (wait <= 0) {
      await this.recordProgress();
      return;
    }
    this.progressTimer ??= setTimeout(() => {
      this.progressTimer = undefined;
      this.recordProgress().catch((error) =>
        this.options.logger.warn({ err: error }, 'relay: progress not recorded; retrying next pass'),
      );
    }, wait);
  }

  /** Writes the published id not yet written (kept for the next try when the write fails). */
  private async recordProgress(): Promise<void> {
    const id = this.unrecordedId;
    if (id === undefined) return;
    this.unrecordedId = undefined;
    this.progressDueAt = performance.now() + this.options.progressIntervalMs;
    try {
      await this.options.state.recordProgress(id);
    } catch (error) {
      this.unrecordedId = Math.max(this.unrecordedId ?? 0, id);
      throw error;
    }
  }

  /**
   * Takes the lease when free, expired or already ours, and reads how far the log and the relay
   * are; undefined when another replica holds the lease.
   */
  private async acquireLease(): Promise<{ publishedId: number; lastEventId?: number } | undefined> {
    // Within the first half of a lease taken here, it is still ours and so is the progress: the
    // pass goes straight to the events (a write's pass then costs no lease round trip and commit).
    if (this.leader && this.publishedId !== undefined && performance.now() < this.renewAt)
      return { publishedId: this.publishedId };
    // The lease's progress must be this replica's: what it published is written first.
    await this.recordProgress();
    const takenAt = performance.now();
    const lease: RelayLease | undefined = await this.options.state.takeLease(
      this.owner,
      this.options.leaseMs,
    );
    this.setLeader(lease !== undefined);
    this.publishedId = lease?.publishedId;
    this.renewAt = takenAt + this.options.leaseMs / 2;
    return lease;
  }

  private setLeader(leader: boolean, message?: string): void {
    if (leader !== this.leader)
      this.options.logger.info(
        { owner: this.owner, leader },
        message ?? (leader ? 'relay: lease taken' : 'relay: lease held elsewhere'),
      );
    this.leader = leader;
    this.metrics.leader.set(leader ? 1 : 0);
  }

  /** Stops the loop, lets a pass in progress finish and hands the lease back so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    await this.running;
    this.remembered.clear();
    try {
      await this.recordProgress();
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'relay: progress not recorded; the next relay republishes (deduplicated)',
      );
    }
    if (!this.leader) return;
    try {
      await this.options.state.releaseLease(this.owner);
      this.setLeader(false, 'relay: lease handed back (stopping)');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'relay: could not hand the lease back; it expires by itself');
      this.setLeader(false, 'relay: stopped; the lease expires by itself');
    }
  }
}

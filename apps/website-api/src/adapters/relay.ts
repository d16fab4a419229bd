import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventBus } from '@tideline/bus';
import { subjects, type WebsiteEventType } from '@tideline/contracts';
import { Counter, Gauge, type Logger, type Registry } from '@tideline/runtime';
import type pg from 'pg';
import { toWebsiteEvent } from './event-envelope.ts';

export interface EventRelayOptions {
  /** The relay's few statements go straight to the pool: they are hot and need no ORM. */
  pool: pg.Pool;
  topic: string;
  /** The bus to publish to, when one is up. */
  bus: () => EventBus | undefined;
  batchSize: number;
  intervalMs: number;
  leaseMs: number;
  logger: Logger;
  metrics: Registry;
  /** Identifies this replica as the lease holder; unique per process by default. */
  owner?: string;
}

interface RelayMetrics {
  published: Counter;
  failures: Counter;
  lag: Gauge;
  leader: Gauge;
}

function relayMetrics(registry: Registry): RelayMetrics {
  return {
    published: new Counter({
      name: 'tideline_website_api_relay_published_total',
      help: 'Events of the websites log the relay published to the broker.',
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
 * the event id as the deduplication id. Publishing never blocks a write: writes only `kick()` it.
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

  constructor(private readonly options: EventRelayOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.metrics = relayMetrics(options.metrics);
  }

  /** Starts the loop that publishes whatever is left behind, every interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.kick();
  }

  /** Publishes soon (coalesced with a run in progress); called after each commit. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.runOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** True while this replica holds the lease. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * One relay pass: takes or renews the lease, then publishes batches until the log is caught up
   * or a publish fails. Returns the number of events published.
   */
  async runOnce(): Promise<number> {
    const bus = this.options.bus();
    if (!bus?.healthy()) return 0;
    let total = 0;
    try {
      while (!this.stopped) {
        const lease = await this.acquireLease();
        if (lease === undefined) return total;
        const from = lease.publishedId;
        this.metrics.lag.set(Math.max(0, lease.lastEventId - from));
        if (lease.lastEventId <= from) return total;
        const { rows } = await this.options.pool.query<{
          id: string;
          event_type: WebsiteEventType;
          payload: unknown;
          created_at: Date;
        }>(
          `SELECT id::text, event_type::text, payload, created_at FROM ws_events
            WHERE topic = $1 AND id > $2 ORDER BY ws_events.id LIMIT $3`,
          [this.options.topic, from, this.options.batchSize],
        );
        let published = from;
        let failed = false;
        for (const row of rows) {
          const event = toWebsiteEvent({
            id: Number(row.id),
            eventType: row.event_type,
            payload: row.payload,
            createdAt: row.created_at,
          });
          try {
            await bus.publish(subjects.website(event.type), event, {
              msgId: String(event.eventId),
              key: this.options.topic,
            });
          } catch (error) {
            failed = true;
            this.metrics.failures.inc();
            this.options.logger.warn(
              { err: error, eventId: event.eventId },
              'relay: publish failed; the event stays in the log and is retried',
            );
            break;
          }
          published = event.eventId;
          this.metrics.published.inc();
          total++;
        }
        if (published > from) await this.recordProgress(published);
        this.metrics.lag.set(Math.max(0, lease.lastEventId - published));
        if (failed || rows.length < this.options.batchSize) return total;
      }
      return total;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'relay: database unavailable; retrying next interval');
      return total;
    }
  }

  /**
   * Takes the lease when free, expired or already ours, and reads how far the log and the relay
   * are; undefined when another replica holds the lease.
   */
  private async acquireLease(): Promise<{ publishedId: number; lastEventId: number } | undefined> {
    const { rows } = await this.options.pool.query<{ published: string; last: string }>(
      `UPDATE ws_relay_state r
          SET owner = $2, lease_until = now() + make_interval(secs => $3), updated_at = now()
         FROM ws_log_meta m
        WHERE r.topic = $1 AND m.topic = r.topic AND (r.owner IS NULL OR r.owner = $2 OR r.lease_until < now())
       RETURNING r.last_published_id::text AS published, m.last_event_id::text AS last`,
      [this.options.topic, this.owner, this.options.leaseMs / 1000],
    );
    const row = rows[0];
    this.setLeader(row !== undefined);
    return row === undefined
      ? undefined
      : { publishedId: Number(row.published), lastEventId: Number(row.last) };
  }

  private async recordProgress(publishedId: number): Promise<void> {
    await this.options.pool.query(
      `UPDATE ws_relay_state SET last_published_id = GREATEST(last_published_id, $2), updated_at = now() WHERE topic = $1`,
      [this.options.topic, publishedId],
    );
  }

  private setLeader(leader: boolean): void {
    if (leader !== this.leader)
      this.options.logger.info(
        { owner: this.owner, leader },
        leader ? 'relay: lease taken' : 'relay: lease held elsewhere',
      );
    this.leader = leader;
    this.metrics.leader.set(leader ? 1 : 0);
  }

  /** Stops the loop, lets a pass in progress finish and hands the lease back so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    if (!this.leader) return;
    try {
      await this.options.pool.query(
        `UPDATE ws_relay_state SET owner = NULL, lease_until = NULL, updated_at = now() WHERE topic = $1 AND owner = $2`,
        [this.options.topic, this.owner],
      );
    } catch (error) {
      this.options.logger.warn({ err: error }, 'relay: could not hand the lease back; it expires by itself');
    }
    this.setLeader(false);
  }
}

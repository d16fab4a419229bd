import type { WebsiteEvent, WebsiteEventType } from '@tideline/contracts';
import type pg from 'pg';
import { toWebsiteEvent } from './event-envelope.ts';

/** What the lease holder reads when it takes or renews the lease. */
export interface RelayLease {
  /** The last event id the relay recorded as published. */
  publishedId: number;
  /** The last event id of the log. */
  lastEventId: number;
}

/**
 * The relay's state in PostgreSQL (`ws_relay_state`): the lease that lets one replica publish, and
 * the progress it made, kept in the database so any replica continues where the last one stopped.
 * Its few statements go straight to the pool: they are hot and need no ORM.
 */
export class PostgresRelayState {
  readonly topic: string;
  private readonly pool: pg.Pool;

  constructor(options: { pool: pg.Pool; topic: string }) {
    this.pool = options.pool;
    this.topic = options.topic;
  }

  /**
   * Takes the lease for `leaseMs` when it is free, expired or already `owner`'s, and reads how far
   * the log and the relay are, in one statement; undefined when another owner holds the lease.
   */
  async takeLease(owner: string, leaseMs: number): Promise<RelayLease | undefined> {
    const { rows } = await this.pool.query<{ published: string; last: string }>(
      `UPDATE ws_relay_state r
          SET owner = $2, lease_until = now() + make_interval(secs => $3), updated_at = now()
         FROM ws_log_meta m
        WHERE r.topic = $1 AND m.topic = r.topic AND (r.owner IS NULL OR r.owner = $2 OR r.lease_until < now())
       RETURNING r.last_published_id::text AS published, m.last_event_id::text AS last`,
      [this.topic, owner, leaseMs / 1000],
    );
    const row = rows[0];
    return row === undefined
      ? undefined
      : { publishedId: Number(row.published), lastEventId: Number(row.last) };
  }

  /**
   * At most `limit` events after `after`, as the envelopes the relay publishes, in numeric id order
   * (ordered by the bigint column, never by its text form).
   */
  async eventsAfter(after: number, limit: number): Promise<WebsiteEvent[]> {
    const { rows } = await this.pool.query<{
      id: string;
      event_type: WebsiteEventType;
      payload: unknown;
      created_at: Date;
      trace_parent: string | null;
      trace_state: string | null;
    }>(
      `SELECT id::text, event_type::text, payload, created_at, trace_parent, trace_state FROM ws_events
        WHERE topic = $1 AND id > $2 ORDER BY ws_events.id LIMIT $3`,
      [this.topic, after, limit],
    );
    return rows.map((row) =>
      toWebsiteEvent({
        id: Number(row.id),
        eventType: row.event_type,
        payload: row.payload,
        createdAt: row.created_at,
        traceParent: row.trace_parent,
        traceState: row.trace_state,
      }),
    );
  }

  /** Records that every event up to `publishedId` was published; progress never moves back. */
  async recordProgress(publishedId: number): Promise<void> {
    await this.pool.query(
      `UPDATE ws_relay_state SET last_published_id = GREATEST(last_published_id, $2), updated_at = now() WHERE topic = $1`,
      [this.topic, publishedId],
    );
  }

  /**
   * How far the relay is behind the log, as the database sees it (the same on every replica):
   * committed events not yet published, and the age of the oldest of them (0 when caught up).
   */
  async backlog(): Promise<{ events: number; oldestSeconds: number }> {
    const { rows } = await this.pool.query<{ events: string; oldest_seconds: number | null }>(
      `SELECT (m.last_event_id - r.last_published_id)::text AS events,
              EXTRACT(EPOCH FROM now() - (SELECT e.created_at FROM ws_events e
                                           WHERE e.topic = r.topic AND e.id > r.last_published_id
                                           ORDER BY e.id LIMIT 1))::float8 AS oldest_seconds
         FROM ws_relay_state r JOIN ws_log_meta m ON m.topic = r.topic
        WHERE r.topic = $1`,
      [this.topic],
    );
    const row = rows[0];
    return {
      events: Math.max(0, Number(row?.events ?? 0)),
      oldestSeconds: Math.max(0, row?.oldest_seconds ?? 0),
    };
  }

  /** Hands the lease back when `owner` holds it, so another replica takes over at once. */
  async releaseLease(owner: string): Promise<void> {
    await this.pool.query(
      `UPDATE ws_relay_state SET owner = NULL, lease_until = NULL, updated_at = now() WHERE topic = $1 AND owner = $2`,
      [this.topic, owner],
    );
  }
}

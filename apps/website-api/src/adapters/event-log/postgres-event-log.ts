import {
  parse,
  WEBSITES_TOPIC,
  WebsiteDeleted,
  WebsiteItem,
  type WebsitesReplay,
  type WebsitesSnapshot,
} from '@tideline/contracts';
import { Prisma, type PrismaClient } from '@tideline/db';
import { currentTraceCarrier, type TraceCarrier } from '@tideline/runtime';
import type { ReplayRequest, WebsiteLogReader } from '../../domain/ports.ts';
import { type LogPosition, replayFallback } from '../../domain/replay.ts';
import type { RetentionPolicy } from '../../domain/retention.ts';
import { toWebsiteEvent } from './event-envelope.ts';
import { readPosition, type Tx } from './log-position.ts';
import { purgeOnce } from './retention-purge.ts';
import { readWebsitesSnapshot } from './websites-snapshot.ts';

/**
 * First key of the transaction-scoped advisory lock that serialises the writers of one topic
 * (second key: `hashtext(topic)`). Exported so tests can hold it to freeze writers mid-transaction.
 */
export const EVENT_LOG_LOCK_CLASS = 0x7d1e;

export type NewEvent =
  | { type: 'add' | 'update'; payload: WebsiteItem }
  | { type: 'delete'; payload: { website_id: number } };

/**
 * The websites event log in PostgreSQL (`ws_events`), gap-free in commit order (invariant 2).
 *
 * Why a per-topic advisory lock rather than reading below the xid horizon: a writer takes the
 * lock as the last step of its transaction, takes the next id from `ws_log_meta` and commits, so
 * ids are 1, 2, 3, … in commit order with no holes (a rolled-back transaction gives its id back),
 * and every committed row is final: readers need no horizon, never wait for unrelated long
 * transactions, and a gap in ids is always a bug, never a rollback. The price is that the writers
 * of one topic commit one at a time — only for the few milliseconds between the lock and the
 * commit (measured by the benchmark in bench/).
 */
export class PostgresEventLog implements WebsiteLogReader {
  readonly topic: string = WEBSITES_TOPIC;
  private readonly prisma: PrismaClient;

  constructor(options: { prisma: PrismaClient }) {
    this.prisma = options.prisma;
  }

  /**
   * Writes the event of a change in `tx`, the transaction of the change: it commits or rolls back
   * with it. Call it last, just before commit: from here until the commit, the other writers of
   * the topic wait.
   * The payload is validated by the contracts first; an invalid one throws and nothing is written.
   */
  async append(tx: Tx, event: NewEvent): Promise<number> {
    const payload =
      event.type === 'delete'
        ? parse(WebsiteDeleted, event.payload, 'delete event payload')
        : parse(WebsiteItem, event.payload, `${event.type} event payload`);
    // The trace of the request that made the change, so the relay publishes the event in it.
    const trace = currentTraceCarrier();
    // One statement: the topic lock (an init plan, taken first), the next id, the row. The lock is
    // then held only for this statement's round trip and the commit.
    const rows = await tx.$queryRaw<{ id: bigint }[]>`
      WITH locked AS MATERIALIZED (
        SELECT pg_advisory_xact_lock(${EVENT_LOG_LOCK_CLASS}::int, hashtext(${this.topic}))
      ), next AS (
        UPDATE ws_log_meta SET last_event_id = last_event_id + 1
         WHERE topic = ${this.topic} AND EXISTS (SELECT 1 FROM locked)
        RETURNING last_event_id
      )
      INSERT INTO ws_events (topic, id, event_type, payload, trace_parent, trace_state)
      SELECT ${this.topic}, last_event_id, ${event.type}::ws_event_type, ${JSON.stringify(payload)}::jsonb,
             ${trace?.traceparent ?? null}, ${trace?.tracestate ?? null} FROM next
      RETURNING id`;
    const row = rows[0];
    if (!row)
      throw new Error(
        `event log topic ${JSON.stringify(this.topic)} has no ws_log_meta row (database not migrated?)`,
      );
    return Number(row.id);
  }

  /**
   * The event-log parts of a change written as one statement (see website-statements.ts).
   *
   * `lock` defines `topic_lock(held)`: the topic lock, taken once `gate` (a CTE of the statement)
   * has a row, before the statement writes anything: with `wait` false it is only tried (`held`
   * false when another writer has it: the statement must write nothing), with `wait` true it is
   * waited for. The statement's writes must require `held`.
   *
   * `append(type)` defines `next_event_id` and `appended(id, created_at)`: the event of `type` whose payload the
   * statement's CTE `event_payload(payload jsonb)` holds (one row, or none: no event), with the next
   * id of the topic. A topic without its `ws_log_meta` row fails the statement (the id would be
   * NULL), so no change commits without its event.
   *
   * Same guarantees as {@link append}: the lock is held until the statement's transaction commits,
   * so ids are 1, 2, 3, … in commit order. Tried in autocommit, a statement holds the lock only
   * for itself and its commit, never across a round trip to the client; and a writer never waits
   * for it in autocommit (only inside a transaction it commits itself), so a client that went away
   * while waiting leaves nothing behind.
   */
  statementParts(options: {
    wait: boolean;
    gate: string;
    /** The trace context stored with the event: that of the request making the change. */
    trace: TraceCarrier | undefined;
  }): {
    lock: Prisma.Sql;
    append: (type: NewEvent['type']) => Prisma.Sql;
  } {
    const { trace } = options;
    const gate = Prisma.raw(options.gate);
    const lock = options.wait
      ? Prisma.sql`topic_lock AS MATERIALIZED (
          SELECT true AS held
            FROM (SELECT pg_advisory_xact_lock(${EVENT_LOG_LOCK_CLASS}::int, hashtext(${this.topic})) FROM ${gate} LIMIT 1) AS l
        )`
      : Prisma.sql`topic_lock AS MATERIALIZED (
          SELECT pg_try_advisory_xact_lock(${EVENT_LOG_LOCK_CLASS}::int, hashtext(${this.topic})) AS held FROM ${gate} LIMIT 1
        )`;
    return {
      lock,
      append: (type) => {
        return Prisma.sql`next_event_id AS (
            UPDATE ws_log_meta SET last_event_id = last_event_id + 1
             WHERE topic = ${this.topic} AND EXISTS (SELECT 1 FROM event_payload)
               AND EXISTS (SELECT 1 FROM topic_lock WHERE held)
            RETURNING last_event_id
          ), appended AS (
            INSERT INTO ws_events (topic, id, event_type, payload, trace_parent, trace_state)
            SELECT ${this.topic}, n.last_event_id, ${type}::ws_event_type, p.payload,
                   ${trace?.traceparent ?? null}, ${trace?.tracestate ?? null}
              FROM event_payload p LEFT JOIN next_event_id n ON true
            RETURNING id, created_at
          )`;
      },
    };
  }

  /**
   * Resolves once no writer holds the topic lock (taking and dropping it at once); holds nothing
   * and writes nothing, so it may be abandoned at any time.
   */
  async untilUnlocked(): Promise<void> {
    await this.prisma
      .$executeRaw`SELECT pg_advisory_xact_lock(${EVENT_LOG_LOCK_CLASS}::int, hashtext(${this.topic}))`;
  }

  /** Creates the topic's epoch and relay rows when missing (a new topic, or a database set up by hand). */
  async ensureTopic(): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO ws_log_meta (topic, epoch) VALUES (${this.topic}, gen_random_uuid()::text) ON CONFLICT (topic) DO NOTHING`;
    await this.prisma
      .$executeRaw`INSERT INTO ws_relay_state (topic) VALUES (${this.topic}) ON CONFLICT (topic) DO NOTHING`;
  }

  /** Where the log stands now: epoch, last id, purge horizon. */
  position(): Promise<LogPosition> {
    return readPosition(this.prisma, this.topic);
  }

  /** Every website as of the last event id, read in one REPEATABLE READ transaction. */
  snapshot(): Promise<WebsitesSnapshot> {
    return readWebsitesSnapshot(this.prisma, this.topic);
  }

  /**
   * The events after `request.after` in id order, or the reason to take a snapshot instead; the
   * position and the rows are read in one REPEATABLE READ transaction.
   */
  replay(request: ReplayRequest): Promise<WebsitesReplay> {
    return this.prisma.$transaction(
      async (tx) => {
        const position = await readPosition(tx, this.topic);
        const reason = replayFallback(request, position);
        if (reason) return { kind: 'fallback', version: position.epoch, reason };
        const rows = await tx.wsEvent.findMany({
          where: { topic: this.topic, id: { gt: BigInt(request.after) } },
          orderBy: { id: 'asc' },
          take: request.limit,
        });
        const expected = position.lastEventId - request.after;
        if (rows.length !== expected || (rows.length > 0 && Number(rows[0]!.id) !== request.after + 1)) {
          throw new Error(
            `event log of ${this.topic} has a gap after ${request.after}: ${rows.length} of ${expected} events found`,
          );
        }
        return { kind: 'events', version: position.epoch, events: rows.map(toWebsiteEvent) };
      },
      { isolationLevel: 'RepeatableRead' },
    );
  }

  /** One retention transaction under `policy`; returns the number of events purged (see {@link purgeOnce}). */
  purgeOnce(policy: RetentionPolicy): Promise<number> {
    return purgeOnce(this.prisma, this.topic, policy);
  }

  /**
   * Starts a new epoch (`version`) and drops every event, so readers holding positions of the old
   * epoch fall back to a snapshot. Ids go on from the last one: an id is never handed out twice in
   * one database, so the broker's msgId deduplication and consumers' id deduplication stay right.
   * Unpublished events are dropped too (readers re-sync from snapshots). For operators and tests.
   */
  async reset(): Promise<string> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${EVENT_LOG_LOCK_CLASS}::int, hashtext(${this.topic}))`;
      await tx.$executeRaw`DELETE FROM ws_events WHERE topic = ${this.topic}`;
      const [row] = await tx.$queryRaw<{ epoch: string; last_event_id: bigint }[]>`
        UPDATE ws_log_meta SET epoch = gen_random_uuid()::text, purged_through_id = last_event_id, reset_at = now()
        WHERE topic = ${this.topic} RETURNING epoch, last_event_id`;
      await tx.$executeRaw`
        UPDATE ws_relay_state SET last_published_id = ${row!.last_event_id}, updated_at = now() WHERE topic = ${this.topic}`;
      return row!.epoch;
    });
  }
}

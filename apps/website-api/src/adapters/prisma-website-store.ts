import {
  type CreateLineGroupBody,
  type CreateWebsiteBody,
  type FieldIssue,
  type LineGroup,
  safeParse,
  type UpdateWebsiteBody,
  type WebsiteEvent,
  WebsiteItem,
} from '@tideline/contracts';
import { Prisma, type PrismaClient, type RawStatements } from '@tideline/db';
import { currentTraceCarrier, inSpan, type TraceCarrier } from '@tideline/runtime';
import { conflict, invalid, notFound } from '../domain/errors.ts';
import type { WebsitePage, WebsiteStore } from '../domain/ports.ts';
import { toWebsiteItem } from '../domain/website-item.ts';
import { reportedByDatabase, translateDatabaseError } from './database-errors.ts';
import { toWebsiteEvent } from './event-log/event-envelope.ts';
import type { NewEvent, PostgresEventLog } from './event-log/postgres-event-log.ts';
import { WEBSITE_WITH_RELATIONS } from './website-query.ts';
import {
  type CreateOutcome,
  createWebsiteStatement,
  type DeleteOutcome,
  deleteWebsiteStatement,
  type EventOutcome,
  type EventParts,
  type UpdateOutcome,
  updateWebsiteStatement,
} from './website-statements.ts';

export interface PrismaWebsiteStoreOptions {
  prisma: PrismaClient;
  /**
   * The path of the change statements (`Database.statements`: the client's driver adapter without
   * its query machinery, and pipelined turns); line groups and reads go through `prisma`.
   */
  statements: RawStatements;
  /**
   * Where each change writes its event, in the change's transaction. `null` writes no events:
   * only for the benchmark's baseline, never in a service (it would break invariant 1).
   */
  eventLog: PostgresEventLog | null;
  /** Told after an event committed, with the event as the log holds it (the relay publishes it at once). */
  onCommitted?: (event: WebsiteEvent) => void;
  /**
   * Autocommit tries of a change whose topic lock another writer holds, before it waits for the
   * lock in a transaction (see `TIDELINE_WEBSITE_API_WRITE_LOCK_TRIES`).
   */
  writeLockTries: number;
  /**
   * Changes waiting for the topic lock behind one of this process's changes that are committed
   * together in one transaction, at most (see `TIDELINE_WEBSITE_API_WRITE_BATCH_MAX`).
   */
  writeBatchMax: number;
}

/** A change waiting for its turn at the topic lock. */
interface Turn<R extends { topic_held: boolean }> {
  statement: (wait: boolean) => Prisma.Sql;
  again: (row: R) => boolean;
  lockRow: number | undefined;
  resolve: (row: R) => void;
  reject: (error: unknown) => void;
}

/**
 * {@link WebsiteStore} over Prisma. A website change is one SQL statement (`Prisma.sql`, see
 * website-statements.ts; sent through Prisma's driver adapter, `statements`), run as a transaction
 * of its own: its checks, its rows and its event-log row commit together in one round trip. When
 * the topic lock is busy (or an update's snapshot went stale) the statement writes nothing and runs
 * again in a transaction that waits for the locks.
 * The changes of this process take the topic lock one turn at a time; the changes that arrived
 * during a turn share the next one: one transaction running their statements one after the other
 * (group commit), so concurrent writers pay one commit and one lock hand-over per turn, not each.
 * Line groups and reads go through Prisma's query builder.
 */
export class PrismaWebsiteStore implements WebsiteStore {
  /** Changes waiting for the next turn at the topic lock, in arrival order. */
  private readonly waiting: Turn<never>[] = [];
  /** A turn is running (it starts the next one when it ends). */
  private turning = false;

  constructor(private readonly options: PrismaWebsiteStoreOptions) {}

  private get prisma(): PrismaClient {
    return this.options.prisma;
  }

  private async read<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw translateDatabaseError(error);
    }
  }

  createLineGroup(body: CreateLineGroupBody): Promise<LineGroup> {
    return this.read(() =>
      this.prisma.$transaction(async (tx) => {
        const taken = await tx.lineGroup.findUnique({ where: { name: body.name } });
        if (taken)
          throw conflict(`line group ${JSON.stringify(body.name)} exists`, [
            { path: 'name', message: `is already used by line group ${taken.id}` },
          ]);
        const created = await tx.lineGroup.create({ data: { name: body.name, cname: body.cname } });
        return { id: created.id, name: created.name, cname: created.cname };
      }),
    );
  }

  listLineGroups(): Promise<LineGroup[]> {
    return this.read(async () => {
      const rows = await this.prisma.lineGroup.findMany({ orderBy: { id: 'asc' } });
      return rows.map((row) => ({ id: row.id, name: row.name, cname: row.cname }));
    });
  }

  createWebsite(body: CreateWebsiteBody): Promise<WebsiteItem> {
    return this.write('add', async (trace) => {
      const row = await this.attempt<CreateOutcome>(
        (wait) => createWebsiteStatement(body, this.eventParts('add', wait, trace)),
        (first) => first.line_group_found && first.taken.length === 0 && !first.topic_held,
      );
      if (!row.line_group_found) throw lineGroupMissing(body.line_group_id);
      if (row.taken.length > 0) throw domainsTaken(body.domains, row.taken);
      // The event's payload as the statement wrote it (the checked item may order its keys otherwise).
      return { item: this.itemOf(row.item, row.event_id), payload: row.item, event: row };
    });
  }

  updateWebsite(body: UpdateWebsiteBody): Promise<WebsiteItem> {
    return this.write('update', async (trace) => {
      const row = await this.attempt<UpdateOutcome>(
        (wait) => updateWebsiteStatement(body, this.eventParts('update', wait, trace)),
        // Stale: another writer changed the website after the statement's snapshot was taken.
        (first) => first.found && (!first.fresh || (first.changed && !first.topic_held)),
        body.website_id,
      );
      if (!row.found) throw notFound(`website ${body.website_id}`);
      if (!row.fresh) throw new Error(`website ${body.website_id} changed while its row lock was held`);
      if (row.changed && !row.line_group_found) throw lineGroupMissing(body.line_group_id!);
      if (row.changed && row.taken.length > 0) throw domainsTaken(body.domains!, row.taken);
      // The event's payload as the statement wrote it (the checked item may order its keys otherwise).
      return { item: this.itemOf(row.item, row.event_id), payload: row.item, event: row };
    });
  }

  deleteWebsite(websiteId: number): Promise<{ website_id: number }> {
    return this.write('delete', async (trace) => {
      const row = await this.attempt<DeleteOutcome>(
        (wait) => deleteWebsiteStatement(websiteId, this.eventParts('delete', wait, trace)),
        (first) => first.found && !first.topic_held,
      );
      if (!row.found) throw notFound(`website ${websiteId}`);
      // The statement's event payload: jsonb_build_object('website_id', id).
      const item = { website_id: websiteId };
      return { item, payload: item, event: row };
    });
  }

  /**
   * Runs a change statement in autocommit, trying the topic lock. While `again` says it wrote
   * nothing because the lock was busy (or its snapshot was stale), runs it again — after waiting
   * for the lock to be free, when it was busy — up to `writeLockTries` times in all; then once
   * more in a transaction that takes website `lockRow`'s row lock first (when given) and waits for
   * the topic lock, so it cannot fail that way again. Waiting never happens in a statement that
   * writes and commits by itself: a client gone while waiting leaves nothing behind.
   *
   * With the event log, the changes of this process take turns (see {@link runTurns}): waiting for
   * a turn costs no round trip, instead of failing to take the lock from one another in the database.
   */
  private attempt<R extends { topic_held: boolean }>(
    statement: (wait: boolean) => Prisma.Sql,
    again: (row: R) => boolean,
    lockRow?: number,
  ): Promise<R> {
    if (!this.options.eventLog) return this.attemptNow(statement, again, lockRow);
    return new Promise<R>((resolve, reject) => {
      const turn: Turn<R> = { statement, again, lockRow, resolve, reject };
      this.waiting.push(turn as unknown as Turn<never>);
      if (!this.turning) void this.runTurns();
    });
  }

  /**
   * Runs the waiting changes turn by turn until none waits. A turn with one change runs it as
   * {@link attemptNow} does; a turn with several runs them in one transaction (see
   * {@link runTogether}). The changes that arrive meanwhile wait for the next turn.
   */
  private async runTurns(): Promise<void> {
    this.turning = true;
    try {
      while (this.waiting.length > 0) {
        const turn = this.waiting.splice(0, this.options.writeBatchMax) as Turn<{ topic_held: boolean }>[];
        if (turn.length === 1) await this.runAlone(turn[0]!);
        else await this.runTogether(turn);
      }
    } finally {
      this.turning = false;
    }
  }

  private async runAlone<R extends { topic_held: boolean }>(turn: Turn<R>): Promise<void> {
    try {
      turn.resolve(await this.attemptNow(turn.statement, turn.again, turn.lockRow));
    } catch (error) {
      turn.reject(error);
    }
  }

  /**
   * Runs the statements of several changes in one transaction, each waiting for its locks (the
   * first takes the topic lock, which the transaction then holds until it commits): their events
   * get consecutive ids and commit together. The transaction goes out pipelined (BEGIN, the
   * statements, COMMIT in one round trip): PostgreSQL runs the turn without waiting for this
   * process between its statements, so the topic lock is held for the statements' own time. A
   * statement that wrote nothing because its snapshot was stale runs again alone afterwards. When
   * the database refuses one of them (an error it reports, so the transaction rolled back and
   * nothing of the turn was written), each change runs again alone, so one change's error is only
   * its own; a connection lost on the way (the commit's outcome unknown) fails them all, as it
   * would fail each alone.
   */
  private async runTogether<R extends { topic_held: boolean }>(turn: Turn<R>[]): Promise<void> {
    let rows: R[][];
    try {
      rows = await this.options.statements.pipeline<R>(turn.map((t) => t.statement(true)));
    } catch (error) {
      if (!reportedByDatabase(error)) {
        for (const t of turn) t.reject(error);
        return;
      }
      for (const t of turn) await this.runAlone(t);
      return;
    }
    const stale: Turn<R>[] = [];
    turn.forEach((t, i) => {
      const row = rows[i]![0]!;
      if (t.again(row)) stale.push(t);
      else t.resolve(row);
    });
    for (const t of stale) await this.runAlone(t);
  }

  private async attemptNow<R extends { topic_held: boolean }>(
    statement: (wait: boolean) => Prisma.Sql,
    again: (row: R) => boolean,
    lockRow?: number,
  ): Promise<R> {
    const { statements } = this.options;
    let [row] = await statements.query<R>(statement(false));
    for (let tries = 1; again(row!) && tries < this.options.writeLockTries; tries++) {
      if (!row!.topic_held) await this.options.eventLog?.untilUnlocked();
      [row] = await statements.query<R>(statement(false));
    }
    if (!again(row!)) return row!;
    return statements.transaction(async (tx) => {
      if (lockRow !== undefined) await tx.query(lockWebsiteRow(lockRow));
      const [locked] = await tx.query<R>(statement(true));
      return locked!;
    });
  }

  /** The event-log parts of a statement writing an event of `type` in trace `trace` (none without an event log). */
  private eventParts(type: NewEvent['type'], wait: boolean, trace: TraceCarrier | undefined): EventParts {
    const log = this.options.eventLog;
    if (!log) return null;
    return (gate) => {
      const parts = log.statementParts({ wait, gate, trace });
      return { lock: parts.lock, append: parts.append(type) };
    };
  }

  /**
   * Runs a website change writing an event of `type`, in the trace of its `websites transaction`
   * span; once its event committed, hands `onCommitted` the event as the log holds it: the id and
   * `created_at` the statement answered, the payload it wrote and the trace it stored.
   */
  private async write<T>(
    type: NewEvent['type'],
    work: (trace: TraceCarrier | undefined) => Promise<{ item: T; payload: unknown; event: EventOutcome }>,
  ): Promise<T> {
    let outcome: { item: T; payload: unknown; event: EventOutcome; trace: TraceCarrier | undefined };
    try {
      outcome = await inSpan('websites transaction', {}, async (span) => {
        const trace = currentTraceCarrier();
        const done = await work(trace);
        if (done.event.event_id !== null)
          span?.setAttribute('tideline.event_id', Number(done.event.event_id));
        return { ...done, trace };
      });
    } catch (error) {
      throw translateDatabaseError(error);
    }
    const { event_id: id, event_at: createdAt } = outcome.event;
    if (id !== null && createdAt !== null)
      this.options.onCommitted?.(
        toWebsiteEvent({
          id,
          eventType: type,
          payload: outcome.payload,
          createdAt,
          traceParent: outcome.trace?.traceparent ?? null,
          traceState: outcome.trace?.tracestate ?? null,
        }),
      );
    return outcome.item;
  }

  /**
   * The item a statement built, checked against the contract. The statement builds it from the
   * rows it wrote, whose columns the database constrains as the contract does; a mismatch is a
   * bug, reported with the event that carries the item.
   */
  private itemOf(item: unknown, eventId: bigint | null): WebsiteItem {
    const checked = safeParse(WebsiteItem, item, 'website item');
    if (checked.ok) return checked.value;
    throw new Error(
      `website change committed${eventId !== null ? ` as event ${eventId}` : ''} with an item that breaks the contract: ${checked.error.message}`,
    );
  }

  getWebsite(websiteId: number): Promise<WebsiteItem> {
    return this.read(async () => {
      const website = await this.prisma.website.findUnique({
        where: { id: websiteId },
        include: WEBSITE_WITH_RELATIONS,
      });
      if (!website) throw notFound(`website ${websiteId}`);
      return toWebsiteItem(website);
    });
  }

  listWebsites(page: { page: number; pageSize: number }): Promise<WebsitePage> {
    return this.read(() =>
      this.prisma.$transaction(
        async (tx) => {
          const total = await tx.website.count();
          const rows = await tx.website.findMany({
            orderBy: { id: 'asc' },
            skip: (page.page - 1) * page.pageSize,
            take: page.pageSize,
            include: WEBSITE_WITH_RELATIONS,
          });
          return { items: rows.map(toWebsiteItem), total };
        },
        { isolationLevel: 'RepeatableRead' },
      ),
    );
  }
}

/** Takes website `websiteId`'s row lock (in a transaction). */
function lockWebsiteRow(websiteId: number): Prisma.Sql {
  return Prisma.sql`SELECT 1 FROM websites WHERE id = ${websiteId} FOR UPDATE`;
}

function lineGroupMissing(lineGroupId: number): Error {
  return invalid(`line group ${lineGroupId} does not exist`, [
    { path: 'line_group_id', message: `no line group has id ${lineGroupId}` },
  ]);
}

/** CONFLICT naming each domain of `domains` another website uses (a concurrent taker loses on the unique index). */
function domainsTaken(domains: string[], taken: { domain: string; website_id: number }[]): Error {
  const owner = new Map(taken.map((t) => [t.domain, t.website_id]));
  const fields: FieldIssue[] = domains.flatMap((domain, index) =>
    owner.has(domain)
      ? [{ path: `domains.${index}`, message: `${domain} is already used by website ${owner.get(domain)}` }]
      : [],
  );
  return conflict(
    `${fields.length === 1 ? 'a domain is' : 'domains are'} already used by another website`,
    fields,
  );
}

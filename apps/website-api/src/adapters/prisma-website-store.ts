import {
  type CreateLineGroupBody,
  type CreateWebsiteBody,
  type FieldIssue,
  type LineGroup,
  safeParse,
  type UpdateWebsiteBody,
  WebsiteItem,
} from '@tideline/contracts';
import type { Prisma, PrismaClient } from '@tideline/db';
import { inSpan } from '@tideline/runtime';
import { conflict, invalid, notFound } from '../domain/errors.ts';
import type { WebsitePage, WebsiteStore } from '../domain/ports.ts';
import { toWebsiteItem } from '../domain/website-item.ts';
import { translateDatabaseError } from './database-errors.ts';
import type { NewEvent, PostgresEventLog } from './event-log/postgres-event-log.ts';
import { WEBSITE_WITH_RELATIONS } from './website-query.ts';
import {
  type CreateOutcome,
  createWebsiteStatement,
  type DeleteOutcome,
  deleteWebsiteStatement,
  type EventParts,
  type UpdateOutcome,
  updateWebsiteStatement,
} from './website-statements.ts';

export interface PrismaWebsiteStoreOptions {
  prisma: PrismaClient;
  /**
   * Where each change writes its event, in the change's transaction. `null` writes no events:
   * only for the benchmark's baseline, never in a service (it would break invariant 1).
   */
  eventLog: PostgresEventLog | null;
  /** Told after an event committed (the relay publishes it at once). */
  onCommitted?: (eventId: number) => void;
  /**
   * Autocommit tries of a change whose topic lock another writer holds, before it waits for the
   * lock in a transaction (see `TIDELINE_WEBSITE_API_WRITE_LOCK_TRIES`).
   */
  writeLockTries: number;
}

/**
 * {@link WebsiteStore} over Prisma. A website change is one SQL statement (`$queryRaw`, see
 * website-statements.ts), run as a transaction of its own: its checks, its rows and its event-log
 * row commit together in one round trip. When the topic lock is busy (or an update's snapshot went
 * stale) the statement writes nothing and runs again in a transaction that waits for the locks.
 * Line groups and reads go through Prisma's query builder.
 */
export class PrismaWebsiteStore implements WebsiteStore {
  /** The last change of this process queued for the topic lock. */
  private topicQueue: Promise<void> = Promise.resolve();

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
    return this.write(async () => {
      const row = await this.attempt<CreateOutcome>(
        (wait) => createWebsiteStatement(body, this.eventParts('add', wait)),
        (first) => first.line_group_found && first.taken.length === 0 && !first.topic_held,
      );
      if (!row.line_group_found) throw lineGroupMissing(body.line_group_id);
      if (row.taken.length > 0) throw domainsTaken(body.domains, row.taken);
      return { item: this.itemOf(row.item, row.event_id), eventId: row.event_id };
    });
  }

  updateWebsite(body: UpdateWebsiteBody): Promise<WebsiteItem> {
    return this.write(async () => {
      const row = await this.attempt<UpdateOutcome>(
        (wait) => updateWebsiteStatement(body, this.eventParts('update', wait)),
        // Stale: another writer changed the website after the statement's snapshot was taken.
        (first) => first.found && (!first.fresh || (first.changed && !first.topic_held)),
        body.website_id,
      );
      if (!row.found) throw notFound(`website ${body.website_id}`);
      if (!row.fresh) throw new Error(`website ${body.website_id} changed while its row lock was held`);
      if (row.changed && !row.line_group_found) throw lineGroupMissing(body.line_group_id!);
      if (row.changed && row.taken.length > 0) throw domainsTaken(body.domains!, row.taken);
      return { item: this.itemOf(row.item, row.event_id), eventId: row.event_id };
    });
  }

  deleteWebsite(websiteId: number): Promise<{ website_id: number }> {
    return this.write(async () => {
      const row = await this.attempt<DeleteOutcome>(
        (wait) => deleteWebsiteStatement(websiteId, this.eventParts('delete', wait)),
        (first) => first.found && !first.topic_held,
      );
      if (!row.found) throw notFound(`website ${websiteId}`);
      return { item: { website_id: websiteId }, eventId: row.event_id };
    });
  }

  /**
   * Runs a change statement in autocommit, trying the topic lock. While `again` says it wrote
   * nothing because the lock was busy (or its snapshot was stale), runs it again — after waiting
   * for the lock to be free, when it was busy — up to `writeLockTries` times in all; then once
   * more in a transaction that takes website `lockRow`'s row lock first (when given) and waits for
   * the topic lock, so it cannot fail that way again. Waiting never happens in a statement that
   * writes and commits by itself: a client gone while waiting leaves nothing behind.
   */
  private attempt<R extends { topic_held: boolean }>(
    statement: (wait: boolean) => Prisma.Sql,
    again: (row: R) => boolean,
    lockRow?: number,
  ): Promise<R> {
    if (!this.options.eventLog) return this.attemptNow(statement, again, lockRow);
    // The changes of this process take the topic lock one after the other: they queue here, where
    // waiting costs no round trip, instead of failing to take it from one another in the database.
    const turn = this.topicQueue.then(() => this.attemptNow(statement, again, lockRow));
    this.topicQueue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private async attemptNow<R extends { topic_held: boolean }>(
    statement: (wait: boolean) => Prisma.Sql,
    again: (row: R) => boolean,
    lockRow?: number,
  ): Promise<R> {
    let [row] = await this.prisma.$queryRaw<R[]>(statement(false));
    for (let tries = 1; again(row!) && tries < this.options.writeLockTries; tries++) {
      if (!row!.topic_held) await this.options.eventLog?.untilUnlocked();
      [row] = await this.prisma.$queryRaw<R[]>(statement(false));
    }
    if (!again(row!)) return row!;
    return this.prisma.$transaction(async (tx) => {
      if (lockRow !== undefined)
        await tx.$executeRaw`SELECT 1 FROM websites WHERE id = ${lockRow} FOR UPDATE`;
      const [locked] = await tx.$queryRaw<R[]>(statement(true));
      return locked!;
    });
  }

  /** The event-log parts of a statement writing an event of `type` (none without an event log). */
  private eventParts(type: NewEvent['type'], wait: boolean): EventParts {
    const log = this.options.eventLog;
    if (!log) return null;
    return (gate) => {
      const parts = log.statementParts({ wait, gate });
      return { lock: parts.lock, append: parts.append(type) };
    };
  }

  /** Runs a website change; once its event committed, tells `onCommitted`. */
  private async write<T>(work: () => Promise<{ item: T; eventId: bigint | null }>): Promise<T> {
    let outcome: { item: T; eventId: bigint | null };
    try {
      outcome = await inSpan('websites transaction', {}, async (span) => {
        const done = await work();
        if (done.eventId !== null) span?.setAttribute('tideline.event_id', Number(done.eventId));
        return done;
      });
    } catch (error) {
      throw translateDatabaseError(error);
    }
    if (outcome.eventId !== null) this.options.onCommitted?.(Number(outcome.eventId));
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

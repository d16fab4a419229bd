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
import type { Prisma, PrismaClient } from '@tideline/db';
import { currentTraceCarrier, inSpan, type TraceCarrier } from '@tideline/runtime';
import { conflict, invalid, notFound } from '../domain/errors.ts';
import type { WebsitePage, WebsiteStore } from '../domain/ports.ts';
import { toWebsiteItem } from '../domain/website-item.ts';
import { translateDatabaseError } from './database-errors.ts';
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
   * Where each change writes its event, in the change's transaction. `null` writes no events:
   * only for the benchmark's baseline, never in a service (it would break invariant 1).
   */
  eventLog: PostgresEventLog | null;
  /** Told after an event committed, with the event as the log holds it (the relay publishes it at once). */
  onCommitted?: (event: WebsiteEvent) => void;
}

/**
 * {@link WebsiteStore} over Prisma. A website change is one SQL statement (`$queryRaw`, see
 * website-statements.ts), run as a transaction of its own: its checks, its rows and its event-log
 * row commit together in one round trip. Concurrent changes run their checks and writes side by
 * side and take turns only at the topic lock, which each statement takes last, for the next event
 * id, the event row and the commit. An update whose snapshot went stale (another writer changed
 * the website while it waited for the row lock) writes nothing and runs again in a transaction that
 * takes the row lock first. Line groups and reads go through Prisma's query builder.
 */
export class PrismaWebsiteStore implements WebsiteStore {
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
      const row = await this.change<CreateOutcome>(createWebsiteStatement(body, this.eventParts('add', trace)));
      if (!row.line_group_found) throw lineGroupMissing(body.line_group_id);
      if (row.taken.length > 0) throw domainsTaken(body.domains, row.taken);
      // The event's payload as the statement wrote it (the checked item may order its keys otherwise).
      return { item: this.itemOf(row.item, row.event_id), payload: row.item, event: row };
    });
  }

  updateWebsite(body: UpdateWebsiteBody): Promise<WebsiteItem> {
    return this.write('update', async (trace) => {
      const row = await this.change<UpdateOutcome>(
        updateWebsiteStatement(body, this.eventParts('update', trace)),
        // Stale: another writer changed the website after the statement's snapshot was taken.
        { row: body.website_id, stale: (first) => first.found && !first.fresh },
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
      const row = await this.change<DeleteOutcome>(deleteWebsiteStatement(websiteId, this.eventParts('delete', trace)));
      if (!row.found) throw notFound(`website ${websiteId}`);
      // The statement's event payload: jsonb_build_object('website_id', id).
      const item = { website_id: websiteId };
      return { item, payload: item, event: row };
    });
  }

  /**
   * Runs a change statement in autocommit. When `relock.stale` says it wrote nothing because its
   * snapshot was stale, runs it once more in a transaction that takes website `relock.row`'s row
   * lock first, so its snapshot holds every change of the row and it cannot be stale again.
   */
  private async change<R>(statement: Prisma.Sql, relock?: { row: number; stale: (row: R) => boolean }): Promise<R> {
    const [row] = await this.prisma.$queryRaw<R[]>(statement);
    if (!relock?.stale(row!)) return row!;
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT 1 FROM websites WHERE id = ${relock.row} FOR UPDATE`;
      const [locked] = await tx.$queryRaw<R[]>(statement);
      return locked!;
    });
  }

  /** The event-log part of a statement writing an event of `type` in trace `trace` (none without an event log). */
  private eventParts(type: NewEvent['type'], trace: TraceCarrier | undefined): EventParts {
    const log = this.options.eventLog;
    if (!log) return null;
    return (after) => log.statementParts({ after, trace }).append(type);
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

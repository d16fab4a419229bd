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
import { conflict, invalid, notFound, unavailable } from '../domain/errors.ts';
import type { WebsitePage, WebsiteStore } from '../domain/ports.ts';
import { toWebsiteItem } from '../domain/website-item.ts';
import { translateDatabaseError } from './database-errors.ts';
import type { Tx } from './event-log/log-position.ts';
import type { NewEvent, PostgresEventLog } from './event-log/postgres-event-log.ts';
import { WEBSITE_WITH_RELATIONS } from './website-query.ts';
import {
  type CreateOutcome,
  createWebsiteStatement,
  type DeleteOutcome,
  deleteWebsiteStatement,
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
   * Attempts of an update whose website another writer changed at the same moment (each attempt
   * after the first sees that change); beyond them the update answers UNAVAILABLE.
   */
  updateAttempts: number;
}

/**
 * {@link WebsiteStore} over Prisma. A website change is one SQL statement, run as a transaction of
 * its own: its checks, its rows and its event-log row commit together in one round trip (see
 * website-statements.ts). Line groups and reads go through Prisma's query builder.
 */
export class PrismaWebsiteStore implements WebsiteStore {
  constructor(private readonly options: PrismaWebsiteStoreOptions) {}

  private get prisma(): PrismaClient {
    return this.options.prisma;
  }

  /** Runs `work` in a transaction; its event (if any) commits with it; errors become protocol errors. */
  private async change<T>(work: (tx: Tx) => Promise<{ result: T; event?: NewEvent }>): Promise<T> {
    let eventId: number | undefined;
    let result: T;
    try {
      result = await inSpan('websites transaction', {}, (span) =>
        this.prisma.$transaction(async (tx) => {
          const outcome = await work(tx);
          if (outcome.event && this.options.eventLog)
            eventId = await this.options.eventLog.append(tx, outcome.event);
          if (eventId !== undefined) span?.setAttribute('tideline.event_id', eventId);
          return outcome.result;
        }),
      );
    } catch (error) {
      throw translateDatabaseError(error);
    }
    if (eventId !== undefined) this.options.onCommitted?.(eventId);
    return result;
  }

  private async read<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw translateDatabaseError(error);
    }
  }

  async createLineGroup(body: CreateLineGroupBody): Promise<LineGroup> {
    return this.change(async (tx) => {
      const taken = await tx.lineGroup.findUnique({ where: { name: body.name } });
      if (taken)
        throw conflict(`line group ${JSON.stringify(body.name)} exists`, [
          { path: 'name', message: `is already used by line group ${taken.id}` },
        ]);
      const created = await tx.lineGroup.create({ data: { name: body.name, cname: body.cname } });
      return { result: { id: created.id, name: created.name, cname: created.cname } };
    });
  }

  listLineGroups(): Promise<LineGroup[]> {
    return this.read(async () => {
      const rows = await this.prisma.lineGroup.findMany({ orderBy: { id: 'asc' } });
      return rows.map((row) => ({ id: row.id, name: row.name, cname: row.cname }));
    });
  }

  createWebsite(body: CreateWebsiteBody): Promise<WebsiteItem> {
    return this.write(async (events) => {
      const row = await this.statement<CreateOutcome>(createWebsiteStatement(body, events('add')));
      if (!row.line_group_found) throw lineGroupMissing(body.line_group_id);
      if (row.taken.length > 0) throw domainsTaken(body.domains, row.taken);
      return { item: this.itemOf(row.item, row.event_id), eventId: row.event_id };
    });
  }

  updateWebsite(body: UpdateWebsiteBody): Promise<WebsiteItem> {
    return this.write(async (events) => {
      // A row changed by another writer after this statement's snapshot makes it write nothing;
      // the next attempt's snapshot includes that change.
      for (let attempt = 1; ; attempt++) {
        const row = await this.statement<UpdateOutcome>(updateWebsiteStatement(body, events('update')));
        if (!row.found) throw notFound(`website ${body.website_id}`);
        if (!row.fresh) {
          if (attempt >= this.options.updateAttempts) throw busy(body.website_id);
          continue;
        }
        if (row.changed && !row.line_group_found) throw lineGroupMissing(body.line_group_id!);
        if (row.changed && row.taken.length > 0) throw domainsTaken(body.domains!, row.taken);
        return { item: this.itemOf(row.item, row.event_id), eventId: row.event_id };
      }
    });
  }

  deleteWebsite(websiteId: number): Promise<{ website_id: number }> {
    return this.write(async (events) => {
      const row = await this.statement<DeleteOutcome>(deleteWebsiteStatement(websiteId, events('delete')));
      if (!row.found) throw notFound(`website ${websiteId}`);
      return { item: { website_id: websiteId }, eventId: row.event_id };
    });
  }

  /**
   * Runs a website change: each statement of `work` is a transaction of its own, writing the
   * change and its event (the event log's CTEs from `events`, none without an event log).
   */
  private async write<T>(
    work: (
      events: (type: NewEvent['type']) => Prisma.Sql | null,
    ) => Promise<{ item: T; eventId: bigint | null }>,
  ): Promise<T> {
    const log = this.options.eventLog;
    let outcome: { item: T; eventId: bigint | null };
    try {
      outcome = await inSpan('websites transaction', {}, async (span) => {
        const done = await work((type) => (log ? log.appendingCtes(type) : null));
        if (done.eventId !== null) span?.setAttribute('tideline.event_id', Number(done.eventId));
        return done;
      });
    } catch (error) {
      throw translateDatabaseError(error);
    }
    if (outcome.eventId !== null) this.options.onCommitted?.(Number(outcome.eventId));
    return outcome.item;
  }

  private async statement<R>(sql: Prisma.Sql): Promise<R> {
    const [row] = await this.prisma.$queryRaw<R[]>(sql);
    return row!;
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

function busy(websiteId: number): Error {
  return unavailable(new Error(`website ${websiteId} kept changing under concurrent writers`));
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

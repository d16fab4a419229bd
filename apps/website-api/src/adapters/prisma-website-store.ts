import type {
  CreateLineGroupBody,
  CreateWebsiteBody,
  FieldIssue,
  LineGroup,
  UpdateWebsiteBody,
  WebsiteItem,
} from '@tideline/contracts';
import type { PrismaClient } from '@tideline/db';
import { inSpan } from '@tideline/runtime';
import { conflict, invalid, notFound } from '../domain/errors.ts';
import type { WebsitePage, WebsiteStore } from '../domain/ports.ts';
import { changedFields, toWebsiteItem } from '../domain/website-item.ts';
import { translateDatabaseError } from './database-errors.ts';
import type { Tx } from './event-log/log-position.ts';
import type { NewEvent, PostgresEventLog } from './event-log/postgres-event-log.ts';
import { WEBSITE_WITH_RELATIONS } from './website-query.ts';

export interface PrismaWebsiteStoreOptions {
  prisma: PrismaClient;
  /**
   * Where each change writes its event, in the change's transaction. `null` writes no events:
   * only for the benchmark's baseline, never in a service (it would break invariant 1).
   */
  eventLog: PostgresEventLog | null;
  /** Told after an event committed (the relay publishes it at once). */
  onCommitted?: (eventId: number) => void;
}

/** {@link WebsiteStore} over Prisma: one transaction per change, the event log row inside it. */
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
    return this.change(async (tx) => {
      await assertLineGroup(tx, body.line_group_id);
      await assertDomainsFree(tx, body.domains, undefined);
      const created = await tx.website.create({
        data: {
          lineGroupId: body.line_group_id,
          httpsEnabled: body.https_enabled,
          status: body.status,
          domains: { create: body.domains.map((domain, index) => ({ domain, isPrimary: index === 0 })) },
        },
        include: WEBSITE_WITH_RELATIONS,
      });
      const item = toWebsiteItem(created);
      return { result: item, event: { type: 'add', payload: item } };
    });
  }

  updateWebsite(body: UpdateWebsiteBody): Promise<WebsiteItem> {
    return this.change(async (tx) => {
      const current = await lockWebsite(tx, body.website_id);
      const changed = changedFields(current, body);
      if (changed.length === 0) return { result: current };
      if (changed.includes('line_group_id')) await assertLineGroup(tx, body.line_group_id!);
      if (changed.includes('domains')) {
        await assertDomainsFree(tx, body.domains!, body.website_id);
        await tx.websiteDomain.deleteMany({ where: { websiteId: body.website_id } });
        await tx.websiteDomain.createMany({
          data: body.domains!.map((domain, index) => ({
            websiteId: body.website_id,
            domain,
            isPrimary: index === 0,
          })),
        });
      }
      const updated = await tx.website.update({
        where: { id: body.website_id },
        data: {
          ...(changed.includes('line_group_id') ? { lineGroupId: body.line_group_id! } : {}),
          ...(changed.includes('https_enabled') ? { httpsEnabled: body.https_enabled! } : {}),
          ...(changed.includes('status') ? { status: body.status! } : {}),
          updatedAt: new Date(),
        },
        include: WEBSITE_WITH_RELATIONS,
      });
      const item = toWebsiteItem(updated);
      return { result: item, event: { type: 'update', payload: item } };
    });
  }

  deleteWebsite(websiteId: number): Promise<{ website_id: number }> {
    return this.change(async (tx) => {
      await lockWebsite(tx, websiteId);
      await tx.website.delete({ where: { id: websiteId } });
      const deleted = { website_id: websiteId };
      return { result: deleted, event: { type: 'delete', payload: deleted } };
    });
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

/** Loads a website for a change, locking its row until commit so concurrent changes of it queue up. */
async function lockWebsite(tx: Tx, websiteId: number): Promise<WebsiteItem> {
  const locked = await tx.$queryRaw<
    { id: number }[]
  >`SELECT id FROM websites WHERE id = ${websiteId} FOR UPDATE`;
  if (locked.length === 0) throw notFound(`website ${websiteId}`);
  const website = await tx.website.findUniqueOrThrow({
    where: { id: websiteId },
    include: WEBSITE_WITH_RELATIONS,
  });
  return toWebsiteItem(website);
}

async function assertLineGroup(tx: Tx, lineGroupId: number): Promise<void> {
  const found = await tx.lineGroup.findUnique({ where: { id: lineGroupId }, select: { id: true } });
  if (!found)
    throw invalid(`line group ${lineGroupId} does not exist`, [
      { path: 'line_group_id', message: `no line group has id ${lineGroupId}` },
    ]);
}

/** Refuses domains used by another website (CONFLICT naming each one); a concurrent taker loses on the unique index. */
async function assertDomainsFree(tx: Tx, domains: string[], websiteId: number | undefined): Promise<void> {
  const taken = await tx.websiteDomain.findMany({
    where: { domain: { in: domains }, ...(websiteId !== undefined ? { websiteId: { not: websiteId } } : {}) },
    select: { domain: true, websiteId: true },
  });
  if (taken.length === 0) return;
  const owner = new Map(taken.map((t) => [t.domain, t.websiteId]));
  const fields: FieldIssue[] = domains.flatMap((domain, index) =>
    owner.has(domain)
      ? [{ path: `domains.${index}`, message: `${domain} is already used by website ${owner.get(domain)}` }]
      : [],
  );
  throw conflict(
    `${fields.length === 1 ? 'a domain is' : 'domains are'} already used by another website`,
    fields,
  );
}

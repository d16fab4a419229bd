import type { WebsitesSnapshot } from '@tideline/contracts';
import type { PrismaClient } from '@tideline/db';
import { toWebsiteItem } from '../../domain/website-item.ts';
import { WEBSITE_WITH_RELATIONS } from '../website-query.ts';
import { readPosition } from './log-position.ts';

/**
 * Every website, with the log position it corresponds to: the position and the list are read in
 * one REPEATABLE READ transaction, so the list is exactly the state after `lastEventId` (no later
 * change in it, no earlier one missing — invariant 3).
 */
export function readWebsitesSnapshot(prisma: PrismaClient, topic: string): Promise<WebsitesSnapshot> {
  return prisma.$transaction(
    async (tx) => {
      const position = await readPosition(tx, topic);
      const websites = await tx.website.findMany({ orderBy: { id: 'asc' }, include: WEBSITE_WITH_RELATIONS });
      return {
        items: websites.map(toWebsiteItem),
        total: websites.length,
        version: position.epoch,
        lastEventId: position.lastEventId,
      };
    },
    { isolationLevel: 'RepeatableRead' },
  );
}

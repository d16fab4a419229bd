import type { PrismaClient } from '@tideline/db';
import { nextPurgeThrough, type RetentionPolicy } from '../../domain/retention.ts';
import { readPosition } from './log-position.ts';

/** Lock key class of the retention cleanup, so replicas never purge the same topic at the same time. */
const PURGE_LOCK_CLASS = 0x7d1f;

/**
 * One cleanup transaction: purges the oldest events of `topic` beyond the row or age limit, never
 * past what the relay published, at most `batchRows`, and moves the purge horizon with them (so a
 * replay from a purged id answers `purged`). Returns the number purged (0 when nothing is due, or
 * another replica is purging right now).
 */
export function purgeOnce(prisma: PrismaClient, topic: string, policy: RetentionPolicy): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<{ ok: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${PURGE_LOCK_CLASS}::int, hashtext(${topic})) AS ok`;
    if (!locked?.ok) return 0;
    const position = await readPosition(tx, topic);
    const relay = await tx.wsRelayState.findUniqueOrThrow({ where: { topic } });
    const [aged] = await tx.$queryRaw<{ id: bigint | null }[]>`
      SELECT max(id) AS id FROM (
        SELECT id, created_at FROM ws_events WHERE topic = ${topic} AND id > ${BigInt(position.purgedThroughId)}
        ORDER BY id LIMIT ${policy.batchRows}
      ) batch
      WHERE created_at < now() - make_interval(secs => ${policy.maxAgeSeconds})`;
    const through = nextPurgeThrough({
      purgedThroughId: position.purgedThroughId,
      lastEventId: position.lastEventId,
      publishedId: Number(relay.lastPublishedId),
      maxRows: policy.maxRows,
      agedThroughId: aged?.id === null || aged?.id === undefined ? undefined : Number(aged.id),
      batchRows: policy.batchRows,
    });
    if (through <= position.purgedThroughId) return 0;
    const purged = await tx.$executeRaw`
      DELETE FROM ws_events WHERE topic = ${topic} AND id > ${BigInt(position.purgedThroughId)} AND id <= ${BigInt(through)}`;
    await tx.$executeRaw`
      UPDATE ws_log_meta SET purged_through_id = GREATEST(purged_through_id, ${BigInt(through)}) WHERE topic = ${topic}`;
    return purged;
  });
}

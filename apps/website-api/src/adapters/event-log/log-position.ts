import type { Prisma } from '@tideline/db';
import type { LogPosition } from '../../domain/replay.ts';

/** A Prisma transaction (or the client itself, for a single read). */
export type Tx = Prisma.TransactionClient;

/** Where the log of `topic` stands, as seen by `tx`: its epoch, last id and purge horizon. */
export async function readPosition(tx: Tx, topic: string): Promise<LogPosition> {
  const meta = await tx.wsLogMeta.findUniqueOrThrow({ where: { topic } });
  return {
    epoch: meta.epoch,
    lastEventId: Number(meta.lastEventId),
    purgedThroughId: Number(meta.purgedThroughId),
  };
}

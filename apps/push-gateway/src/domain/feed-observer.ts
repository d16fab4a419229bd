/**
 * Why a member was (re)synchronised: asked by its client, to repair a gap in the live stream, or
 * because the stream began a new epoch (its cluster was registered again) and only a snapshot
 * describes it.
 */
export type SyncCause = 'requested' | 'gap' | 'epoch';

/** What a feed reports, for metrics and logs. */
export interface FeedObserver {
  joined(): void;
  /** `reason`: the {@link SyncCause}, or why a replay fell back to a snapshot. */
  synced(mode: 'replay' | 'snapshot', reason: string): void;
  /** A live update was sent to `recipients` sockets; `occurredAtMs` is when it was committed. */
  delivered(recipients: number, occurredAtMs: number | undefined): void;
  /** A live update arrived at or below an id already seen (a redelivery, or an out-of-order source). */
  outOfOrder(eventId: number, head: number): void;
  /** A member's live stream had a gap that the gap wait did not close; it is repaired by a replay. */
  gapRepair(memberId: string, afterEventId: number): void;
  /** A background resync (gap repair, new epoch) failed; a gap repair is retried after the gap wait. */
  repairFailed(error: unknown): void;
  /** More events were held behind a member's gap than allowed: they were dropped, a snapshot resyncs it. */
  holdOverflow(memberId: string, held: number): void;
}

export const silentObserver: FeedObserver = {
  joined() {},
  synced() {},
  delivered() {},
  outOfOrder() {},
  gapRepair() {},
  repairFailed() {},
  holdOverflow() {},
};

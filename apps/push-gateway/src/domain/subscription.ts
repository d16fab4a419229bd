/** The queue of a member with no sync queued or running (one settled promise shared by all). */
export const IDLE: Promise<void> = Promise.resolve();

/** Why a subscription ended: its socket left, its own sync failed, or the stream ended. */
export type RemovedReason = 'left' | 'failed' | 'ended';

/** One member's place in a feed (internal to {@link Feed}). */
export class Subscription<Update> {
  /**
   * `syncing`: its snapshot/replay is in flight, live events are buffered. `live`: it gets the
   * room broadcast. `held`: live, but an event skipped ids; later ones wait in the buffer until
   * the missing ones arrive or the repair replay brings them.
   */
  state: 'syncing' | 'live' | 'held' = 'syncing';
  /** Highest event id this member was sent on this connection; nothing at or below it is sent again. */
  lastSentEventId = 0;
  buffer: Update[] = [];
  overflowed = false;
  /** When buffering began, on the feed's sequence clock, and the feed's head at that moment. */
  arrivedAt = 0;
  headAtJoin = 0;
  repairTimer: NodeJS.Timeout | undefined;
  /**
   * Events behind a gap overflowed the hold (or a failed resync would have): they were dropped,
   * nothing more is held, and the next repair takes a snapshot.
   */
  snapshotDue = false;
  /** The last id a gap repair started from; a second repair from the same id takes a snapshot. */
  repairedFrom: number | undefined;
  /** Set once the subscription is gone. */
  removed: RemovedReason | undefined;
  /** Syncs of one member run one after the other: the last one queued, or {@link IDLE}. */
  queue: Promise<void> = IDLE;
  /** Syncs queued or running for this member. */
  waiting = 0;

  constructor(readonly memberId: string) {}
}

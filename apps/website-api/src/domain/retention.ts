/** How much of the event log retention keeps: whichever of the two limits keeps fewer events. */
export interface RetentionPolicy {
  /** Events older than this may go. */
  maxAgeSeconds: number;
  /** Keep at most this many newest events. */
  maxRows: number;
  /** Ids purged per transaction at most. */
  batchRows: number;
}

export interface RetentionInput {
  /** Last purged id (every id up to it is gone). */
  purgedThroughId: number;
  /** Last id handed out. */
  lastEventId: number;
  /** Last id the relay published; nothing after it may be purged. */
  publishedId: number;
  /** Keep at most this many newest events. */
  maxRows: number;
  /** Highest id older than the age limit among the next `batchRows` ids, or undefined when none is. */
  agedThroughId: number | undefined;
  /** Ids purged per transaction at most. */
  batchRows: number;
}

/**
 * The id through which the next cleanup transaction may purge: events beyond the row limit or the
 * age limit (whichever keeps fewer), never one the relay has not published, at most `batchRows`
 * past the last purge. Returns `purgedThroughId` when there is nothing to purge.
 */
export function nextPurgeThrough(input: RetentionInput): number {
  const byRows = input.lastEventId - input.maxRows;
  const byAge = input.agedThroughId ?? 0;
  const wanted = Math.max(byRows, byAge);
  const allowed = Math.min(wanted, input.publishedId, input.purgedThroughId + input.batchRows);
  return Math.max(input.purgedThroughId, allowed);
}

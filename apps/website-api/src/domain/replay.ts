import type { WebsitesReplay } from '@tideline/contracts';

export type FallbackReason = Extract<WebsitesReplay, { kind: 'fallback' }>['reason'];

export interface LogPosition {
  /** The epoch of the log; changes when the log is reset. */
  epoch: string;
  /** The id of the last committed event (0 when none). */
  lastEventId: number;
  /** Every id up to and including this one was purged by retention. */
  purgedThroughId: number;
}

/**
 * Whether events after `after` can be replayed from a log at `position`, or why the caller must
 * take a snapshot instead. A reader that saw `after` needs the events after it, so `after` itself
 * may be purged: only an `after` below the purge horizon has lost events.
 */
export function replayFallback(
  request: { after: number; limit: number; version?: string | undefined },
  position: LogPosition,
): FallbackReason | undefined {
  if (request.version !== undefined && request.version !== position.epoch) return 'other-version';
  if (request.after > position.lastEventId) return 'future';
  if (request.after < position.purgedThroughId) return 'purged';
  if (position.lastEventId - request.after > request.limit) return 'too-many';
  return undefined;
}

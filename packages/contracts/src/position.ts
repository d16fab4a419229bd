import { z } from 'zod';
/**
 * A reader's place in one ordered stream (the websites log, or the nodes of one cluster): the last
 * event id it holds and, where the stream has epochs, the epoch that id belongs to. Ids of a stream
 * are contiguous (1, 2, 3, …) within an epoch; a position of another epoch cannot be resumed from
 * (the reader takes a snapshot instead). The websites log's epoch is its `version`; node streams
 * have none (a cluster's ids continue across registrations).
 */
export const StreamPosition = z
  .object({
    eventId: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    epoch: z.string().min(1).max(64).optional(),
  })
  .strict();
export type StreamPosition = z.infer<typeof StreamPosition>;

/** Where an event id stands against the last id a reader applied from a contiguous sequence. */
export type SequenceStep = 'applied' | 'duplicate' | 'gap';

/**
 * The one rule every reader of a contiguous sequence applies: an id at or below the last applied
 * one is a `duplicate` (redelivery, replay overlap) and changes nothing; `last + 1` is `applied`;
 * anything beyond is a `gap` (ids in between were lost or aged out) — the caller decides whether
 * to apply it or to wait for what is missing.
 */
export function sequenceStep(lastEventId: number, eventId: number): SequenceStep {
  if (eventId <= lastEventId) return 'duplicate';
  return eventId === lastEventId + 1 ? 'applied' : 'gap';
}

/** Why a replay cannot be answered with events and the reader needs a snapshot instead. */
export const ReplayFallbackReason = z.enum([
  'purged',
  'future',
  'too-many',
  'other-version',
  'unknown-cluster',
]);
export type ReplayFallbackReason = z.infer<typeof ReplayFallbackReason>;

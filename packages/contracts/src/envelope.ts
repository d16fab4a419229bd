import { z } from 'zod';

/** Current version of the envelope shape; bump on a breaking change and keep readers of the old one. */
export const SCHEMA_VERSION = 1 as const;

/** Event ids are positive integers assigned in commit order per topic (invariant 2). */
export const EventId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * The W3C trace context of the change an event reports (`traceparent`, optionally `tracestate`),
 * present when the writer was traced and sampled: a consumer continues that trace. The
 * broker headers carry the publish's own context; this one survives wherever the envelope goes
 * (replays, the event log).
 */
export const TraceContext = z
  .object({
    traceparent: z.string().regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/),
    tracestate: z.string().max(512).optional(),
  })
  .strict();
export type TraceContext = z.infer<typeof TraceContext>;

/** The envelope every event on the bus is wrapped in; `data` is typed by the concrete event schema. */
export function envelopeOf<Type extends z.ZodType, Data extends z.ZodType>(
  topic: string,
  type: Type,
  data: Data,
) {
  return z
    .object({
      eventId: EventId,
      topic: z.literal(topic),
      type,
      occurredAt: z.iso.datetime({ offset: true }),
      schemaVersion: z.literal(SCHEMA_VERSION),
      trace: TraceContext.optional(),
      data,
    })
    .strict();
}

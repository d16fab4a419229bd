import {
  SCHEMA_VERSION,
  WEBSITES_TOPIC,
  type WebsiteEvent,
  type WebsiteEventType,
} from '@tideline/contracts';

/** A row of `ws_events` as read by the log and the relay. */
export interface EventRow {
  id: bigint | number;
  eventType: WebsiteEventType;
  payload: unknown;
  createdAt: Date;
  /** The W3C trace context stored with the event (absent: not traced). */
  traceParent?: string | null;
  traceState?: string | null;
}

/** The bus and replay envelope of a logged event: the same bytes for replays and live updates. */
export function toWebsiteEvent(row: EventRow): WebsiteEvent {
  return {
    eventId: Number(row.id),
    topic: WEBSITES_TOPIC,
    type: row.eventType,
    occurredAt: row.createdAt.toISOString(),
    schemaVersion: SCHEMA_VERSION,
    ...(row.traceParent
      ? { trace: { traceparent: row.traceParent, ...(row.traceState ? { tracestate: row.traceState } : {}) } }
      : {}),
    data: row.payload,
  } as WebsiteEvent;
}

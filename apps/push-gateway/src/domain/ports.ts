import type {
  ClusterName,
  NodesInitial,
  NodesUpdateMessage,
  ReplayFallbackReason,
  StreamPosition,
  WebsitesInitial,
  WebsitesUpdate,
} from '@tideline/contracts';
import type { NodeUpdateFormat } from './node-delta.ts';

/** The answer to "what happened after this position": the updates in id order, or why a snapshot is needed instead. */
export type FeedReplay<Update> =
  | { kind: 'events'; updates: Update[] }
  | { kind: 'fallback'; reason: ReplayFallbackReason };

export interface ReplayRequest {
  /**
   * Replay the events after this position. A position of another epoch than the source's
   * answers `fallback` (`other-version`); one the source no longer holds answers `purged`.
   */
  after: StreamPosition;
  /** At most this many; more missed events answer `fallback` (`too-many`). */
  limit: number;
}

/**
 * Where a feed's state comes from. A snapshot is exact as of its `lastEventId`; a replay holds
 * every event after `after` (no gap) up to `limit`, in id order.
 */
export interface FeedSource<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  snapshot(): Promise<Initial>;
  replay(request: ReplayRequest): Promise<FeedReplay<Update>>;
}

/** Snapshot and replay port of the websites list (website-api's event log). */
export type WebsitesSource = FeedSource<WebsitesInitial, WebsitesUpdate>;

/** Snapshot and replay port of the nodes of every cluster (the cache). */
export interface NodesSource {
  snapshot(cluster: ClusterName): Promise<NodesInitial>;
  /** The updates in `format` (default `rows`); deltas where the events carry their patch. */
  replay(
    cluster: ClusterName,
    request: ReplayRequest,
    format?: NodeUpdateFormat,
  ): Promise<FeedReplay<NodesUpdateMessage>>;
}

/**
 * Where a feed's messages go: the sockets of this gateway, addressed by id. Sending to a member
 * that is gone does nothing. Every message to a socket leaves through this port, so the event
 * names and the emit metrics live in one place (socket/emitter.ts).
 */
export interface FeedOutlet<Initial, Update> {
  /** Puts the member in the feed's room. */
  join(memberId: string, room: string): void;
  leave(memberId: string, room: string): void;
  initial(memberId: string, message: Initial): void;
  update(memberId: string, message: Update): void;
  /** Sends `message` to the `recipients` members of this gateway in `room`, all but those in `except`. */
  broadcast(room: string, except: readonly string[], message: Update, recipients: number): void;
  /** The stream ended at `eventId` (its cluster was unregistered); the member was taken out. */
  ended(memberId: string, eventId: number): void;
}

import type {
  ClusterName,
  NodesInitial,
  NodesUpdate,
  WebsitesInitial,
  WebsitesUpdate,
} from '@tideline/contracts';

/** The answer to "what happened after event N": the updates in id order, or why a snapshot is needed instead. */
export type FeedReplay<Update> =
  | { kind: 'events'; updates: Update[] }
  | { kind: 'fallback'; reason: 'purged' | 'future' | 'too-many' | 'other-version' | 'unknown-cluster' };

export interface ReplayRequest {
  /** Replay the events after this id. */
  after: number;
  /** At most this many; more missed events answer `fallback` (`too-many`). */
  limit: number;
  /** Log epoch the caller's `after` belongs to; another epoch answers `fallback` (`other-version`). */
  version?: string | undefined;
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
  replay(cluster: ClusterName, request: ReplayRequest): Promise<FeedReplay<NodesUpdate>>;
}

/** A source could not answer (down, timed out, answered garbage); nothing was sent to the client. */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The source does not know the addressed thing (e.g. an unregistered cluster). */
export class SourceNotFoundError extends Error {
  override readonly name = 'SourceNotFoundError';
}

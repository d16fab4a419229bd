import { connect, type TidelineClient } from '@tideline/client';
import type { NodeView, WebsiteItem } from '@tideline/contracts';
import { io as socketIo } from 'socket.io-client';

/** The websites feed, or the nodes feed of one cluster (`nodes:<cluster>`). */
export type FeedName = 'websites' | `nodes:${string}`;

/** One message a client received, as it came off the wire (before the SDK judged it). */
export interface Delivery {
  feed: FeedName;
  kind: 'initial' | 'update' | 'removed';
  /** The update's eventId, or the initial's lastEventId. */
  eventId: number;
  /** Which connection of this client (1, 2, …) and which gateway it came through. */
  connection: number;
  gateway: string;
  /** performance.now() when it arrived. */
  at: number;
}

/** What the checker reads of a recorded client (a {@link RecordingClient}, or a history loaded from elsewhere). */
export interface RecordedClient {
  readonly name: string;
  readonly feeds: FeedName[];
  readonly segments: readonly Segment[];
  readonly deliveries: readonly Delivery[];
  readonly reconnects: number;
  /** The gateway it uses (or tries) now. */
  readonly gateway: string;
  position(feed: FeedName): number | undefined;
  replica(feed: FeedName): ReadonlyMap<string, unknown>;
}

/** The ids received between two initials (or an initial and the end), each with where it came from. */
export interface Segment {
  feed: FeedName;
  /** Index of this segment within its feed for this client (0 = the first initial). */
  index: number;
  /** The initial's lastEventId: the segment must continue with exactly the truth's ids after it. */
  startId: number;
  gateway: string;
  connection: number;
  updates: { eventId: number; gateway: string; connection: number; at: number }[];
  /** Ended by `nodes:removed` (the cluster was unregistered). */
  removed: boolean;
}

type Replica = Map<string, unknown>;

export interface RecordingClientOptions {
  name: string;
  /** Gateway URLs; the client starts at `urls[0]` and moves to the next on each reconnect. */
  urls: string[];
  token: string;
  websites: boolean;
  clusters: string[];
  reconnectDelayMs: { initial: number; max: number };
  requestTimeoutMs?: number;
}

/**
 * A client as users run it (the SDK: reconnects to the next gateway, resumes from its position)
 * whose every socket is tapped: each `*:initial`, `*:update` and `nodes:removed` is recorded with
 * its id, connection and gateway before the SDK sees it, and applied to a replica of the checker's
 * own (so neither the SDK's deduplication nor its gap repair can hide what the server sent).
 */
export class RecordingClient implements RecordedClient {
  readonly deliveries: Delivery[] = [];
  readonly segments: Segment[] = [];
  /** Error codes the client was told (`request:error`, refused handshakes), in order. */
  readonly errors: string[] = [];
  /** Connections opened (the first included). */
  connections = 0;
  private readonly replicas = new Map<FeedName, Replica>();
  private readonly current = new Map<FeedName, Segment>();
  private readonly segmentCount = new Map<FeedName, number>();
  readonly sdk: TidelineClient;

  constructor(readonly options: RecordingClientOptions) {
    const tap = ((url: string, opts: Parameters<typeof socketIo>[1]) => {
      const socket = socketIo(url, opts);
      const connection = ++this.connections;
      socket.onAny((event: string, payload: unknown) => this.record(event, payload, connection, url));
      return socket;
    }) as unknown as typeof socketIo;
    this.sdk = connect({
      url: options.urls,
      token: options.token,
      io: tap,
      reconnectDelayMs: options.reconnectDelayMs,
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    this.sdk.onError((error) => this.errors.push(error.code));
    if (options.websites) this.sdk.websites();
    for (const cluster of options.clusters) this.sdk.nodes(cluster);
  }

  get name(): string {
    return this.options.name;
  }

  get gateway(): string {
    return this.sdk.currentUrl;
  }

  /** Feeds this client follows. */
  get feeds(): FeedName[] {
    return [
      ...(this.options.websites ? (['websites'] as const) : []),
      ...this.options.clusters.map((c) => `nodes:${c}` as const),
    ];
  }

  /** Reconnects: connections after the first. */
  get reconnects(): number {
    return Math.max(0, this.connections - 1);
  }

  /** The highest id this client received for a feed since its last initial, undefined before its first initial. */
  position(feed: FeedName): number | undefined {
    const segment = this.current.get(feed);
    if (!segment) return undefined;
    return segment.updates.reduce((max, u) => Math.max(max, u.eventId), segment.startId);
  }

  /** The checker's own replica of a feed (items by key). */
  replica(feed: FeedName): Replica {
    return this.replicas.get(feed) ?? new Map();
  }

  /** When the first update or snapshot at or after `at` (performance.now()) arrived, of feeds starting with `feed` if given. */
  firstDeliveryAfter(at: number, feed?: string): number | undefined {
    // A snapshot counts: a client that synced after the heal (a probe, a resync) holds a live replica.
    return this.deliveries.find(
      (d) =>
        (d.kind === 'update' || d.kind === 'initial') && d.at >= at && (!feed || d.feed.startsWith(feed)),
    )?.at;
  }

  close(): void {
    this.sdk.close();
  }

  private record(event: string, payload: unknown, connection: number, gateway: string): void {
    const at = performance.now();
    const message = payload as Record<string, unknown>;
    switch (event) {
      case 'websites:initial':
        this.initial('websites', message, connection, gateway, at, (i) =>
          String((i as WebsiteItem).website_id),
        );
        return;
      case 'nodes:initial':
        this.initial(
          `nodes:${String(message['cluster'])}`,
          message,
          connection,
          gateway,
          at,
          (i) => (i as NodeView).name,
        );
        return;
      case 'websites:update':
        this.update('websites', message, connection, gateway, at, 'delete', (d) => String(d['website_id']));
        return;
      case 'nodes:update':
        this.update(`nodes:${String(message['cluster'])}`, message, connection, gateway, at, 'deleted', (d) =>
          String(d['name']),
        );
        return;
      case 'nodes:removed': {
        const feed = `nodes:${String(message['cluster'])}` as const;
        const eventId = Number(message['eventId']);
        this.deliveries.push({ feed, kind: 'removed', eventId, connection, gateway, at });
        const segment = this.current.get(feed);
        if (segment) segment.removed = true;
        this.replicas.set(feed, new Map());
        return;
      }
      default:
    }
  }

  private initial(
    feed: FeedName,
    message: Record<string, unknown>,
    connection: number,
    gateway: string,
    at: number,
    keyOf: (item: unknown) => string,
  ): void {
    const eventId = Number(message['lastEventId']);
    this.deliveries.push({ feed, kind: 'initial', eventId, connection, gateway, at });
    const index = this.segmentCount.get(feed) ?? 0;
    this.segmentCount.set(feed, index + 1);
    const segment: Segment = {
      feed,
      index,
      startId: eventId,
      gateway,
      connection,
      updates: [],
      removed: false,
    };
    this.segments.push(segment);
    this.current.set(feed, segment);
    const replica: Replica = new Map();
    for (const item of (message['items'] as unknown[]) ?? []) replica.set(keyOf(item), item);
    this.replicas.set(feed, replica);
  }

  private update(
    feed: FeedName,
    message: Record<string, unknown>,
    connection: number,
    gateway: string,
    at: number,
    deleteType: string,
    keyOf: (data: Record<string, unknown>) => string,
  ): void {
    const eventId = Number(message['eventId']);
    this.deliveries.push({ feed, kind: 'update', eventId, connection, gateway, at });
    let segment = this.current.get(feed);
    if (!segment) {
      // An update before any initial: recorded in a segment of its own (startId NaN) the checker reports.
      const index = this.segmentCount.get(feed) ?? 0;
      this.segmentCount.set(feed, index + 1);
      segment = { feed, index, startId: Number.NaN, gateway, connection, updates: [], removed: false };
      this.segments.push(segment);
      this.current.set(feed, segment);
    }
    segment.updates.push({ eventId, gateway, connection, at });
    const replica = this.replicas.get(feed) ?? new Map();
    this.replicas.set(feed, replica);
    const data = (message['data'] ?? {}) as Record<string, unknown>;
    if (message['type'] === deleteType) replica.delete(keyOf(data));
    else replica.set(keyOf(data), data);
  }
}

import type { Feed, SyncRequest } from './feed.ts';
import type { NodeUpdateFormat } from './node-delta.ts';

const FORMATS: readonly NodeUpdateFormat[] = ['rows', 'delta'];

/**
 * One {@link Feed} per cluster and update format (full rows, deltas), created when a socket of
 * this gateway subscribes and dropped when the last one leaves (a feed nobody follows needs no
 * state: a new one starts clean and exact), or when the cluster is unregistered. A member follows
 * a cluster in one format at a time: subscribing in the other format moves it there.
 * Live changes reach each format's feed as that format's message (`messageOf`), in the same order.
 */
export class ClusterFeeds<
  Initial extends { lastEventId: number },
  Update extends { eventId: number },
  Change = Update,
> {
  private readonly feeds = new Map<string, Partial<Record<NodeUpdateFormat, Feed<Initial, Update>>>>();

  constructor(
    private readonly create: (cluster: string, format: NodeUpdateFormat) => Feed<Initial, Update>,
    private readonly messageOf: (change: Change, format: NodeUpdateFormat) => Update = (change) =>
      change as unknown as Update,
  ) {}

  sync(
    cluster: string,
    memberId: string,
    request: SyncRequest,
    format: NodeUpdateFormat = 'rows',
  ): Promise<void> {
    const other = this.feeds.get(cluster)?.[format === 'rows' ? 'delta' : 'rows'];
    if (other?.remove(memberId)) this.pruneIfEmpty(cluster, other);
    const feed = this.feedOf(cluster, format);
    return feed.sync(memberId, request).catch((error: unknown) => {
      this.pruneIfEmpty(cluster, feed);
      throw error;
    });
  }

  /** A live event of `cluster`; ignored when no socket of this gateway follows the cluster. */
  deliver(cluster: string, change: Change, occurredAtMs?: number): void {
    const feeds = this.feeds.get(cluster);
    if (!feeds) return;
    for (const format of FORMATS) feeds[format]?.deliver(this.messageOf(change, format), occurredAtMs);
  }

  /**
   * `cluster` was unregistered at `eventId`: each of its followers is told (and taken out), and
   * its feeds are dropped, so later events of the old registration reach nobody.
   */
  removed(cluster: string, eventId: number): void {
    const feeds = this.feeds.get(cluster);
    if (!feeds) return;
    for (const format of FORMATS) if (feeds[format]?.end(eventId)) delete feeds[format];
    if (!feeds.rows && !feeds.delta) this.feeds.delete(cluster);
  }

  /** `cluster` was registered (again) at `eventId`: its followers resync by snapshot. */
  registered(cluster: string, eventId: number): void {
    const feeds = this.feeds.get(cluster);
    for (const format of FORMATS) feeds?.[format]?.restart(eventId);
  }

  leave(cluster: string, memberId: string): boolean {
    const feeds = this.feeds.get(cluster);
    if (!feeds) return false;
    let removed = false;
    for (const format of FORMATS) {
      const feed = feeds[format];
      if (feed?.remove(memberId)) {
        removed = true;
        this.pruneIfEmpty(cluster, feed);
      }
    }
    return removed;
  }

  /** Takes a member out of every cluster it follows (its socket closed). */
  leaveAll(memberId: string): void {
    for (const [cluster, feeds] of [...this.feeds]) {
      for (const format of FORMATS) {
        const feed = feeds[format];
        if (feed?.remove(memberId)) this.pruneIfEmpty(cluster, feed);
      }
    }
  }

  /** Clusters `memberId` follows. */
  followedBy(memberId: string): string[] {
    return [...this.feeds]
      .filter(([, feeds]) => FORMATS.some((format) => feeds[format]?.has(memberId)))
      .map(([cluster]) => cluster);
  }

  private feedOf(cluster: string, format: NodeUpdateFormat): Feed<Initial, Update> {
    let feeds = this.feeds.get(cluster);
    if (!feeds) {
      feeds = {};
      this.feeds.set(cluster, feeds);
    }
    let feed = feeds[format];
    if (!feed) {
      feed = this.create(cluster, format);
      feeds[format] = feed;
    }
    return feed;
  }

  private pruneIfEmpty(cluster: string, feed: Feed<Initial, Update>): void {
    const feeds = this.feeds.get(cluster);
    if (!feeds || feed.size > 0) return;
    for (const format of FORMATS) if (feeds[format] === feed) delete feeds[format];
    if (!feeds.rows && !feeds.delta) this.feeds.delete(cluster);
  }
}

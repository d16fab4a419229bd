import type { Feed, SyncRequest } from './feed.ts';

/**
 * One {@link Feed} per cluster, created when a socket of this gateway subscribes and dropped when
 * the last one leaves (a feed nobody follows needs no state: a new one starts clean and exact),
 * or when the cluster is unregistered.
 */
export class ClusterFeeds<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  private readonly feeds = new Map<string, Feed<Initial, Update>>();

  constructor(private readonly create: (cluster: string) => Feed<Initial, Update>) {}

  sync(cluster: string, memberId: string, request: SyncRequest): Promise<void> {
    const feed = this.feedOf(cluster);
    return feed.sync(memberId, request).catch((error: unknown) => {
      this.pruneIfEmpty(cluster, feed);
      throw error;
    });
  }

  /** A live event of `cluster`; ignored when no socket of this gateway follows the cluster. */
  deliver(cluster: string, update: Update, occurredAtMs?: number): void {
    this.feeds.get(cluster)?.deliver(update, occurredAtMs);
  }

  /**
   * `cluster` was unregistered at `eventId`: each of its followers is told (and taken out), and
   * its feed is dropped, so later events of the old registration reach nobody.
   */
  removed(cluster: string, eventId: number): void {
    const feed = this.feeds.get(cluster);
    if (feed?.end(eventId)) this.feeds.delete(cluster);
  }

  /** `cluster` was registered (again) at `eventId`: its followers resync by snapshot. */
  registered(cluster: string, eventId: number): void {
    this.feeds.get(cluster)?.restart(eventId);
  }

  leave(cluster: string, memberId: string): boolean {
    const feed = this.feeds.get(cluster);
    if (!feed) return false;
    const removed = feed.remove(memberId);
    this.pruneIfEmpty(cluster, feed);
    return removed;
  }

  /** Takes a member out of every cluster it follows (its socket closed). */
  leaveAll(memberId: string): void {
    for (const [cluster, feed] of this.feeds) {
      if (feed.remove(memberId)) this.pruneIfEmpty(cluster, feed);
    }
  }

  /** Clusters `memberId` follows. */
  followedBy(memberId: string): string[] {
    return [...this.feeds].filter(([, feed]) => feed.has(memberId)).map(([cluster]) => cluster);
  }

  private feedOf(cluster: string): Feed<Initial, Update> {
    let feed = this.feeds.get(cluster);
    if (!feed) {
      feed = this.create(cluster);
      this.feeds.set(cluster, feed);
    }
    return feed;
  }

  private pruneIfEmpty(cluster: string, feed: Feed<Initial, Update>): void {
    if (feed.size === 0 && this.feeds.get(cluster) === feed) this.feeds.delete(cluster);
  }
}

import type { Feed, FeedMember, SyncRequest } from './feed.ts';

/**
 * One {@link Feed} per cluster, created when a socket of this gateway subscribes and dropped when
 * the last one leaves (a feed nobody follows needs no state: a new one starts clean and exact).
 */
export class ClusterFeeds<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  private readonly feeds = new Map<string, Feed<Initial, Update>>();

  constructor(private readonly create: (cluster: string) => Feed<Initial, Update>) {}

  get clusters(): string[] {
    return [...this.feeds.keys()];
  }

  sync(cluster: string, member: FeedMember<Initial, Update>, request: SyncRequest): Promise<void> {
    let feed = this.feeds.get(cluster);
    if (!feed) {
      feed = this.create(cluster);
      this.feeds.set(cluster, feed);
    }
    const joined = feed;
    return joined.sync(member, request).catch((error: unknown) => {
      this.pruneIfEmpty(cluster, joined);
      throw error;
    });
  }

  /** A live event of `cluster`; ignored when no socket of this gateway follows the cluster. */
  deliver(cluster: string, update: Update, occurredAtMs?: number): void {
    this.feeds.get(cluster)?.deliver(update, occurredAtMs);
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

  private pruneIfEmpty(cluster: string, feed: Feed<Initial, Update>): void {
    if (feed.size === 0 && this.feeds.get(cluster) === feed) this.feeds.delete(cluster);
  }
}

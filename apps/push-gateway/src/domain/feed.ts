import type { FeedReplay, FeedSource } from './ports.ts';
import { SingleFlight } from './single-flight.ts';

/** A socket as a feed sees it: it can be put in rooms and be sent the feed's two messages. */
export interface FeedMember<Initial, Update> {
  readonly id: string;
  join(room: string): void;
  leave(room: string): void;
  sendInitial(message: Initial): void;
  sendUpdate(message: Update): void;
}

/** Sends one update to every socket of this gateway in `room` except those in `except`. */
export type LocalBroadcast<Update> = (room: string, except: string[], message: Update) => void;

/** What a feed reports, for metrics. */
export interface FeedObserver {
  joined(): void;
  synced(mode: 'replay' | 'snapshot', reason: string): void;
  /** A live update was sent to `recipients` sockets; `occurredAtMs` is when it was committed. */
  delivered(recipients: number, occurredAtMs: number | undefined): void;
}

export interface SyncRequest {
  lastEventId?: number | undefined;
  version?: string | undefined;
}

export interface FeedOptions<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  /** The Socket.IO room of the feed (`websites`, `nodes:<cluster>`). */
  room: string;
  source: FeedSource<Initial, Update>;
  broadcast: LocalBroadcast<Update>;
  /** Most events replayed as updates; further behind, the member gets a snapshot. */
  replayLimit: number;
  /** How long a snapshot may serve later members while no newer event was delivered; 0: never. */
  snapshotReuseMs: number;
  /** Live events held for one member while its snapshot/replay is in flight. */
  bufferMaxEvents: number;
  observer?: FeedObserver;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  now?: () => number;
}

/** The live events of a member overflowed its buffer while it was syncing; it must sync again. */
export class SyncOverflowError extends Error {
  override readonly name = 'SyncOverflowError';
}

class Subscription<Initial, Update> {
  state: 'syncing' | 'live' = 'syncing';
  /** Highest event id this member was sent on this connection; nothing at or below it is sent again. */
  lastSentEventId = 0;
  buffer: Update[] = [];
  overflowed = false;
  /** When buffering began, on the feed's sequence clock, and the feed's head at that moment. */
  arrivedAt = 0;
  headAtJoin = 0;
  /** Set once the subscription is gone: `left` (socket left or closed) or `failed` (its sync failed). */
  removed: 'left' | 'failed' | undefined;
  /** Syncs of one member run one after the other. */
  queue: Promise<void> = Promise.resolve();
  constructor(readonly member: FeedMember<Initial, Update>) {}
}

const silentObserver: FeedObserver = { joined() {}, synced() {}, delivered() {} };

/**
 * One ordered stream of state a socket can follow on this gateway: the websites list, or the
 * nodes of one cluster. Guarantees, per member and connection:
 * - it receives an exact snapshot (or the replay of what it missed) and then every later event,
 *   each exactly once and in event-id order, provided live events are handed to {@link deliver}
 *   in id order (the gateway's own in-order bus consumer does that);
 * - events racing with its snapshot/replay are neither lost nor sent twice: the member joins
 *   first, live events are buffered while the query runs, and the buffer is flushed dropping ids
 *   at or below what the snapshot/replay covered.
 * Concurrent snapshot queries are coalesced into one (and one replay query per version/range);
 * an answer computed before a member joined is used only if it covers every event this gateway
 * delivered before the join, so sharing never loses an event.
 */
export class Feed<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  private readonly subscriptions = new Map<string, Subscription<Initial, Update>>();
  private readonly snapshots: SingleFlight<'snapshot', Initial>;
  private readonly replays: SingleFlight<string, FeedReplay<Update>>;
  private readonly observer: FeedObserver;
  private readonly now: () => number;
  /** Highest event id delivered live to this feed on this gateway. */
  private head = 0;
  private clock = 0;
  private cached: { snapshot: Initial; storedAtMs: number } | undefined;

  constructor(private readonly options: FeedOptions<Initial, Update>) {
    const tick = () => ++this.clock;
    this.snapshots = new SingleFlight(tick);
    this.replays = new SingleFlight(tick);
    this.observer = options.observer ?? silentObserver;
    this.now = options.now ?? (() => performance.now());
  }

  get room(): string {
    return this.options.room;
  }

  /** Members on this gateway (syncing or live). */
  get size(): number {
    return this.subscriptions.size;
  }

  has(memberId: string): boolean {
    return this.subscriptions.has(memberId);
  }

  /**
   * Joins `member` (if it is not yet in) and brings it up to date: the replay of what followed
   * `request.lastEventId` when the source has it within the replay limit, else one snapshot; then
   * live. Resolves once the member is live. On failure a new member is removed again, and a
   * member that was live stays live from where it was.
   */
  sync(member: FeedMember<Initial, Update>, request: SyncRequest): Promise<void> {
    const subscription = this.subscriptions.get(member.id) ?? this.join(member);
    const run = subscription.queue.then(() => this.runSync(subscription, request));
    subscription.queue = run.catch(() => undefined);
    return run;
  }

  /** Takes the member out of the feed (and its room). Returns whether it was in. */
  remove(memberId: string): boolean {
    return this.drop(memberId, 'left');
  }

  /**
   * A live event, in id order. Live members get it once (members already past it are skipped);
   * syncing members buffer it.
   */
  deliver(update: Update, occurredAtMs?: number): void {
    if (update.eventId > this.head) this.head = update.eventId;
    if (this.subscriptions.size === 0) return;
    const except: string[] = [];
    let recipients = 0;
    for (const [id, subscription] of this.subscriptions) {
      if (subscription.state === 'syncing') {
        if (subscription.buffer.length < this.options.bufferMaxEvents) subscription.buffer.push(update);
        else subscription.overflowed = true;
        except.push(id);
      } else if (update.eventId <= subscription.lastSentEventId) {
        except.push(id);
      } else {
        subscription.lastSentEventId = update.eventId;
        recipients++;
      }
    }
    if (recipients > 0) this.options.broadcast(this.room, except, update);
    this.observer.delivered(recipients, occurredAtMs);
  }

  private join(member: FeedMember<Initial, Update>): Subscription<Initial, Update> {
    const subscription = new Subscription(member);
    this.subscriptions.set(member.id, subscription);
    member.join(this.room);
    this.startBuffering(subscription);
    this.observer.joined();
    return subscription;
  }

  /** From now on live events for this member are buffered, not sent. */
  private startBuffering(subscription: Subscription<Initial, Update>): void {
    subscription.state = 'syncing';
    subscription.buffer = [];
    subscription.overflowed = false;
    subscription.arrivedAt = ++this.clock;
    subscription.headAtJoin = this.head;
  }

  private drop(memberId: string, reason: 'left' | 'failed'): boolean {
    const subscription = this.subscriptions.get(memberId);
    if (!subscription) return false;
    subscription.removed = reason;
    subscription.buffer = [];
    this.subscriptions.delete(memberId);
    subscription.member.leave(this.room);
    return true;
  }

  private async runSync(subscription: Subscription<Initial, Update>, request: SyncRequest): Promise<void> {
    if (subscription.removed === 'left') return;
    // An earlier request of this member failed and took it out: this one starts over.
    if (subscription.removed === 'failed') return this.sync(subscription.member, request);
    const wasLive = subscription.state === 'live';
    if (wasLive) this.startBuffering(subscription);
    const { member, arrivedAt, headAtJoin } = subscription;
    let sentSomething = false;
    try {
      let lastSent: number | undefined;
      let fallbackReason = 'requested';
      if (request.lastEventId !== undefined) {
        const after = request.lastEventId;
        const replay = await this.replay(after, request.version, arrivedAt, headAtJoin);
        if (subscription.removed) return;
        if (replay.kind === 'events') {
          lastSent = after;
          for (const update of replay.updates) {
            if (update.eventId <= lastSent) continue;
            member.sendUpdate(update);
            sentSomething = true;
            lastSent = update.eventId;
          }
          this.observer.synced('replay', 'requested');
        } else {
          fallbackReason = replay.reason;
        }
      }
      if (lastSent === undefined) {
        const snapshot = await this.snapshot(arrivedAt, headAtJoin);
        if (subscription.removed) return;
        member.sendInitial(snapshot);
        sentSomething = true;
        lastSent = snapshot.lastEventId;
        this.observer.synced('snapshot', fallbackReason);
      }
      if (subscription.overflowed) {
        throw new SyncOverflowError(
          `more than ${this.options.bufferMaxEvents} live events arrived during the sync`,
        );
      }
      for (const update of subscription.buffer) {
        if (update.eventId <= lastSent) continue;
        member.sendUpdate(update);
        lastSent = update.eventId;
      }
      subscription.buffer = [];
      subscription.lastSentEventId = lastSent;
      subscription.state = 'live';
    } catch (error) {
      if (subscription.removed) return;
      if (wasLive && !sentSomething && !subscription.overflowed) this.resumeLive(subscription);
      else this.drop(member.id, 'failed');
      throw error;
    }
  }

  /** Back to live after a failed re-sync that sent nothing: the buffer continues the old stream. */
  private resumeLive(subscription: Subscription<Initial, Update>): void {
    for (const update of subscription.buffer) {
      if (update.eventId <= subscription.lastSentEventId) continue;
      subscription.member.sendUpdate(update);
      subscription.lastSentEventId = update.eventId;
    }
    subscription.buffer = [];
    subscription.state = 'live';
  }

  private snapshot(arrivedAt: number, headAtJoin: number): Promise<Initial> {
    const cached = this.cached;
    if (
      cached &&
      this.options.snapshotReuseMs > 0 &&
      this.now() - cached.storedAtMs <= this.options.snapshotReuseMs &&
      cached.snapshot.lastEventId >= headAtJoin
    ) {
      return Promise.resolve(cached.snapshot);
    }
    return this.snapshots.obtain(
      'snapshot',
      async () => {
        const snapshot = await this.options.source.snapshot();
        if (!this.cached || snapshot.lastEventId >= this.cached.snapshot.lastEventId) {
          this.cached = { snapshot, storedAtMs: this.now() };
        }
        return snapshot;
      },
      arrivedAt,
      (snapshot) => snapshot.lastEventId >= headAtJoin,
    );
  }

  private replay(
    after: number,
    version: string | undefined,
    arrivedAt: number,
    headAtJoin: number,
  ): Promise<FeedReplay<Update>> {
    const limit = this.options.replayLimit;
    return this.replays.obtain(
      `${version ?? ''}|${after}`,
      () => this.options.source.replay({ after, limit, version }),
      arrivedAt,
      (replay) => replay.kind === 'fallback' || (replay.updates.at(-1)?.eventId ?? after) >= headAtJoin,
    );
  }
}

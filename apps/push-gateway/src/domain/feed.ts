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

/** Why a member was (re)synchronised: asked by its client, or to repair a gap in the live stream. */
export type SyncCause = 'requested' | 'gap';

/** What a feed reports, for metrics and logs. */
export interface FeedObserver {
  joined(): void;
  /** `reason`: `requested`, `gap`, or why a replay fell back to a snapshot. */
  synced(mode: 'replay' | 'snapshot', reason: string): void;
  /** A live update was sent to `recipients` sockets; `occurredAtMs` is when it was committed. */
  delivered(recipients: number, occurredAtMs: number | undefined): void;
  /** A live update arrived at or below an id already seen (a redelivery, or an out-of-order source). */
  outOfOrder(eventId: number, head: number): void;
  /** A member's live stream had a gap that the gap wait did not close; it is repaired by a replay. */
  gapRepair(memberId: string, afterEventId: number): void;
  /** A background repair failed (it is retried after the gap wait). */
  repairFailed(error: unknown): void;
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
  /**
   * How long an event that skips ids is held waiting for the missing ones (a source publishing
   * slightly out of order) before the member is repaired by a replay from its last id.
   */
  gapWaitMs: number;
  observer?: FeedObserver;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  now?: () => number;
}

/** The live events of a member overflowed its buffer while it was syncing; it must sync again. */
export class SyncOverflowError extends Error {
  override readonly name = 'SyncOverflowError';
}

class Subscription<Initial, Update> {
  /**
   * `syncing`: its snapshot/replay is in flight, live events are buffered. `live`: it gets the
   * room broadcast. `held`: live, but an event skipped ids; later ones wait in the buffer until
   * the missing ones arrive or the repair replay brings them.
   */
  state: 'syncing' | 'live' | 'held' = 'syncing';
  /** Highest event id this member was sent on this connection; nothing at or below it is sent again. */
  lastSentEventId = 0;
  buffer: Update[] = [];
  overflowed = false;
  /** When buffering began, on the feed's sequence clock, and the feed's head at that moment. */
  arrivedAt = 0;
  headAtJoin = 0;
  repairTimer: NodeJS.Timeout | undefined;
  /** The last id a gap repair started from; a second repair from the same id takes a snapshot. */
  repairedFrom: number | undefined;
  /** Set once the subscription is gone: `left` (socket left or closed) or `failed` (its sync failed). */
  removed: 'left' | 'failed' | undefined;
  /** Syncs of one member run one after the other. */
  queue: Promise<void> = Promise.resolve();
  constructor(readonly member: FeedMember<Initial, Update>) {}
}

const silentObserver: FeedObserver = {
  joined() {},
  synced() {},
  delivered() {},
  outOfOrder() {},
  gapRepair() {},
  repairFailed() {},
};

/**
 * One ordered stream of state a socket can follow on this gateway: the websites list, or the
 * nodes of one cluster. Event ids of a feed are contiguous (1, 2, 3, … per log). Guarantees, per
 * member and connection:
 * - it receives an exact snapshot (or the replay of what it missed) and then every later event,
 *   each exactly once and in id order;
 * - events racing with its snapshot/replay are neither lost nor sent twice: the member joins
 *   first, live events are buffered while the query runs, and the buffer is flushed dropping ids
 *   at or below what the snapshot/replay covered;
 * - a live event that skips ids (the source published out of order, or the bus lost one) is held
 *   until the missing ones arrive; if they do not within `gapWaitMs`, the member is repaired by
 *   a replay from its last id — it never sees a gap and never an id twice.
 * Concurrent snapshot queries are coalesced into one (and one replay query per version/range);
 * an answer computed before a member joined is used only if it covers every event this gateway
 * had seen before the join, so sharing never loses an event.
 */
export class Feed<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  private readonly subscriptions = new Map<string, Subscription<Initial, Update>>();
  private readonly snapshots: SingleFlight<'snapshot', Initial>;
  private readonly replays: SingleFlight<string, FeedReplay<Update>>;
  private readonly observer: FeedObserver;
  private readonly now: () => number;
  /** Highest event id seen live by this feed on this gateway. */
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

  /** Members on this gateway (syncing, live or held). */
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
    return this.enqueue(member, request, 'requested');
  }

  /** Takes the member out of the feed (and its room). Returns whether it was in. */
  remove(memberId: string): boolean {
    return this.drop(memberId, 'left');
  }

  /**
   * A live event. Each member gets the events following its last one, in id order, once; syncing
   * members buffer them; an event that skips ids is held for that member (see the class comment).
   */
  deliver(update: Update, occurredAtMs?: number): void {
    if (update.eventId > this.head) this.head = update.eventId;
    else this.observer.outOfOrder(update.eventId, this.head);
    if (this.subscriptions.size === 0) return;
    const except: string[] = [];
    let recipients = 0;
    for (const [id, subscription] of this.subscriptions) {
      if (subscription.state === 'live' && update.eventId === subscription.lastSentEventId + 1) {
        subscription.lastSentEventId = update.eventId;
        recipients++;
        continue;
      }
      except.push(id);
      if (subscription.state === 'syncing') {
        if (subscription.buffer.length < this.options.bufferMaxEvents) subscription.buffer.push(update);
        else subscription.overflowed = true;
      } else if (update.eventId > subscription.lastSentEventId) {
        // Live with a gap before this event, or already held: wait for what is missing.
        subscription.buffer.push(update);
        this.flush(subscription);
      }
    }
    if (recipients > 0) this.options.broadcast(this.room, except, update);
    this.observer.delivered(recipients, occurredAtMs);
  }

  private enqueue(
    member: FeedMember<Initial, Update>,
    request: SyncRequest,
    cause: SyncCause,
  ): Promise<void> {
    const subscription = this.subscriptions.get(member.id) ?? this.join(member);
    const run = subscription.queue.then(() => this.runSync(subscription, request, cause));
    subscription.queue = run.catch(() => undefined);
    return run;
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
    clearTimeout(subscription.repairTimer);
    subscription.repairTimer = undefined;
    subscription.state = 'syncing';
    subscription.buffer = [];
    subscription.overflowed = false;
    subscription.arrivedAt = ++this.clock;
    subscription.headAtJoin = this.head;
  }

  private drop(memberId: string, reason: 'left' | 'failed'): boolean {
    const subscription = this.subscriptions.get(memberId);
    if (!subscription) return false;
    clearTimeout(subscription.repairTimer);
    subscription.removed = reason;
    subscription.buffer = [];
    this.subscriptions.delete(memberId);
    subscription.member.leave(this.room);
    return true;
  }

  /**
   * Sends the member's buffered events that follow its last one without a gap (in id order,
   * dropping what it already has). What remains after a gap is held, with a repair scheduled;
   * an empty buffer makes the member live.
   */
  private flush(subscription: Subscription<Initial, Update>): void {
    const buffer = subscription.buffer.sort((a, b) => a.eventId - b.eventId);
    let next = 0;
    for (; next < buffer.length; next++) {
      const update = buffer[next]!;
      if (update.eventId <= subscription.lastSentEventId) continue;
      if (update.eventId !== subscription.lastSentEventId + 1) break;
      subscription.member.sendUpdate(update);
      subscription.lastSentEventId = update.eventId;
    }
    subscription.buffer = buffer.slice(next);
    if (subscription.buffer.length === 0) {
      clearTimeout(subscription.repairTimer);
      subscription.repairTimer = undefined;
      subscription.state = 'live';
      return;
    }
    subscription.state = 'held';
    subscription.repairTimer ??= setTimeout(() => this.repair(subscription), this.options.gapWaitMs);
    subscription.repairTimer.unref?.();
  }

  /**
   * The gap wait passed: replay what the member misses after its last id (coalesced with others
   * at the same id). Should that not close the gap (the source itself lacks the ids), the next
   * repair sends a snapshot, so a member is never stuck behind a hole.
   */
  private repair(subscription: Subscription<Initial, Update>): void {
    subscription.repairTimer = undefined;
    if (subscription.removed || subscription.state !== 'held') return;
    const from = subscription.lastSentEventId;
    const again = subscription.repairedFrom === from;
    subscription.repairedFrom = from;
    this.observer.gapRepair(subscription.member.id, from);
    this.enqueue(subscription.member, again ? {} : { lastEventId: from }, 'gap').catch((error: unknown) => {
      subscription.repairedFrom = undefined;
      this.observer.repairFailed(error);
    });
  }

  private async runSync(
    subscription: Subscription<Initial, Update>,
    request: SyncRequest,
    cause: SyncCause,
  ): Promise<void> {
    if (subscription.removed === 'left') return;
    // An earlier request of this member failed and took it out: this one starts over.
    if (subscription.removed === 'failed') return this.enqueue(subscription.member, request, cause);
    const wasLive = subscription.state !== 'syncing';
    const previous = { lastSent: subscription.lastSentEventId, held: subscription.buffer };
    if (wasLive) this.startBuffering(subscription);
    const { member, arrivedAt, headAtJoin } = subscription;
    let sentSomething = false;
    try {
      let lastSent: number | undefined;
      let reason: string = cause;
      if (request.lastEventId !== undefined) {
        const after = request.lastEventId;
        const replay = await this.replay(after, request.version, arrivedAt, headAtJoin);
        if (subscription.removed) return;
        if (replay.kind === 'events') {
          lastSent = after;
          for (const update of replay.updates) {
            if (update.eventId <= lastSent) continue;
            // Past a hole in the answer, the rest waits with the live buffer for what is missing.
            if (update.eventId !== lastSent + 1) {
              subscription.buffer.push(update);
              continue;
            }
            member.sendUpdate(update);
            sentSomething = true;
            lastSent = update.eventId;
          }
          this.observer.synced('replay', cause);
        } else {
          reason = replay.reason;
        }
      }
      if (lastSent === undefined) {
        const snapshot = await this.snapshot(arrivedAt, headAtJoin);
        if (subscription.removed) return;
        member.sendInitial(snapshot);
        sentSomething = true;
        lastSent = snapshot.lastEventId;
        this.observer.synced('snapshot', reason);
      }
      if (subscription.overflowed) {
        throw new SyncOverflowError(
          `more than ${this.options.bufferMaxEvents} live events arrived during the sync`,
        );
      }
      subscription.lastSentEventId = lastSent;
      this.flush(subscription);
    } catch (error) {
      if (subscription.removed) return;
      if (wasLive && !sentSomething && !subscription.overflowed) {
        // Nothing was sent: continue the old stream, with what arrived meanwhile.
        subscription.lastSentEventId = previous.lastSent;
        subscription.buffer = [...previous.held, ...subscription.buffer];
        this.flush(subscription);
      } else {
        this.drop(member.id, 'failed');
      }
      throw error;
    }
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

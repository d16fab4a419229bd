import { type StreamPosition, sequenceStep } from '@tideline/contracts';
import { SyncOverflowError } from './errors.ts';
import { type FeedObserver, type SyncCause, silentObserver } from './feed-observer.ts';
import type { FeedOutlet, FeedReplay, FeedSource } from './ports.ts';
import { SingleFlight } from './single-flight.ts';
import type { SnapshotGate } from './snapshot-gate.ts';
import { IDLE, type RemovedReason, Subscription } from './subscription.ts';

/** What a member asks for: the events after `after` (its position), or a snapshot when absent. */
export interface SyncRequest {
  after?: StreamPosition | undefined;
}

export interface FeedOptions<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  /** The Socket.IO room of the feed (`websites`, `nodes:<cluster>`). */
  room: string;
  source: FeedSource<Initial, Update>;
  outlet: FeedOutlet<Initial, Update>;
  /** Most events replayed as updates; further behind, the member gets a snapshot. */
  replayLimit: number;
  /** How long a snapshot may serve later members while no newer event was delivered; 0: never. */
  snapshotReuseMs: number;
  /** Live events held for one member while its snapshot/replay is in flight. */
  bufferMaxEvents: number;
  /**
   * The version a snapshot describes (default: its `lastEventId`): a fresh snapshot of the same
   * version as the last one is that one, so every member is handed the same object (and the
   * outlet serialises it once). Must change with the epoch when the source has one.
   */
  snapshotVersion?: ((snapshot: Initial) => string) | undefined;
  /**
   * How long an event that skips ids is held waiting for the missing ones (a source publishing
   * slightly out of order) before the member is repaired by a replay from its last id.
   */
  gapWaitMs: number;
  /**
   * Live events held for one live member behind a gap. Past it the held events are dropped and
   * the member is resynchronised by a snapshot (which covers them); a failed resync never holds
   * more than this either.
   */
  holdMaxEvents: number;
  /**
   * How often a member may be sent a snapshot it asked for (shared by the feeds of a gateway);
   * asking sooner is refused with RATE_LIMITED. Absent: no limit.
   */
  snapshotGate?: SnapshotGate | undefined;
  observer?: FeedObserver | undefined;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  now?: () => number;
}

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
 *   a replay from its last id — it never sees a gap and never an id twice; more than
 *   `holdMaxEvents` held events are dropped and the member is resynchronised by a snapshot;
 * - a member that asks for a snapshot (no position, or one the source cannot replay from) is
 *   sent one at most once per interval of the {@link SnapshotGate}; sooner it is refused with
 *   RATE_LIMITED and its stream goes on as it was;
 * - an id that carries no update is not a gap: the end of the stream ({@link end}) takes every
 *   member out with one `ended` message; a new epoch ({@link restart}) resyncs members by snapshot;
 * - a member that left (or whose stream ended, or whose last waiting request failed) is sent
 *   nothing more; a request still waiting when an earlier one of the member failed keeps the
 *   member in, so no request ever joins a member again behind its owner's back (a member left
 *   in a feed its owner already dropped would never get another event).
 * Concurrent snapshot queries are coalesced into one (and one replay query per position); an
 * answer computed before a member joined is used only if it covers every event this gateway had
 * seen before the join, so sharing never loses an event.
 */
export class Feed<Initial extends { lastEventId: number }, Update extends { eventId: number }> {
  private readonly subscriptions = new Map<string, Subscription<Update>>();
  private readonly snapshots: SingleFlight<'snapshot', Initial>;
  private readonly replays: SingleFlight<string, FeedReplay<Update>>;
  private readonly observer: FeedObserver;
  private readonly outlet: FeedOutlet<Initial, Update>;
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
    this.outlet = options.outlet;
    this.now = options.now ?? (() => performance.now());
  }

  private get room(): string {
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
   * Joins the member (if it is not yet in) and brings it up to date: the replay of what followed
   * `request.after` when the source has it within the replay limit, else one snapshot; then live.
   * Resolves once the member is live (or was taken out meanwhile). On failure a new member is
   * removed again (unless another of its requests waits, which then starts afresh), and a member
   * that was live stays live from where it was.
   */
  sync(memberId: string, request: SyncRequest): Promise<void> {
    return this.enqueue(memberId, request, 'requested');
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
      if (
        subscription.state === 'live' &&
        sequenceStep(subscription.lastSentEventId, update.eventId) === 'applied'
      ) {
        subscription.lastSentEventId = update.eventId;
        recipients++;
        continue;
      }
      except.push(id);
      if (subscription.state === 'syncing') this.buffer(subscription, update);
      else if (update.eventId > subscription.lastSentEventId && !subscription.snapshotDue) {
        // Live with a gap before this event, or already held: wait for what is missing (bounded
        // by flush). While a snapshot is due nothing is held: the snapshot will cover it.
        subscription.buffer.push(update);
        this.flush(subscription);
      }
    }
    if (recipients > 0) this.outlet.broadcast(this.room, except, update, recipients);
    this.observer.delivered(recipients, occurredAtMs);
  }

  /**
   * The stream ended at `eventId` (its cluster was unregistered): every member is told once and
   * taken out, pending syncs send nothing, and the feed is closed. Returns false, changing
   * nothing, when a later id was already seen (the end is stale: a new epoch began after it).
   */
  end(eventId: number): boolean {
    if (eventId < this.head) return false;
    this.head = eventId;
    for (const memberId of [...this.subscriptions.keys()]) {
      // A later registration is another stream: its first snapshot is not a repeat.
      this.options.snapshotGate?.forget(memberId, this.room);
      this.drop(memberId, 'ended');
      this.outlet.ended(memberId, eventId);
    }
    return true;
  }

  /**
   * `eventId` begins a new epoch of the stream (its cluster was registered again): the id carries
   * no update, so it is no gap; what came before it no longer describes the state, so every
   * member is resynchronised by a snapshot.
   */
  restart(eventId: number): void {
    if (eventId > this.head) this.head = eventId;
    this.cached = undefined;
    for (const memberId of this.subscriptions.keys()) {
      this.enqueue(memberId, {}, 'epoch').catch((error: unknown) => this.observer.repairFailed(error));
    }
  }

  private enqueue(memberId: string, request: SyncRequest, cause: SyncCause): Promise<void> {
    const subscription = this.subscriptions.get(memberId) ?? this.join(memberId);
    subscription.waiting++;
    const run = subscription.queue
      .then(() => this.runSync(subscription, request, cause))
      .finally(() => {
        // The last sync of the member is done: nothing chains to it, so it keeps no promise.
        if (--subscription.waiting === 0) subscription.queue = IDLE;
      });
    subscription.queue = run.catch(() => undefined);
    return run;
  }

  private join(memberId: string): Subscription<Update> {
    const subscription = new Subscription<Update>(memberId);
    this.subscriptions.set(memberId, subscription);
    this.outlet.join(memberId, this.room);
    this.startBuffering(subscription);
    this.observer.joined();
    return subscription;
  }

  /**
   * Holds a live event of a syncing member. Past `bufferMaxEvents` the member overflowed; its
   * newest event is kept in the last place, so the loss shows as a gap that is repaired.
   */
  private buffer(subscription: Subscription<Update>, update: Update): void {
    const { buffer } = subscription;
    if (buffer.length < this.options.bufferMaxEvents) {
      buffer.push(update);
      return;
    }
    subscription.overflowed = true;
    const last = buffer.at(-1);
    if (last && update.eventId > last.eventId) buffer[buffer.length - 1] = update;
  }

  /** From now on live events for this member are buffered, not sent. */
  private startBuffering(subscription: Subscription<Update>): void {
    clearTimeout(subscription.repairTimer);
    subscription.repairTimer = undefined;
    subscription.state = 'syncing';
    subscription.buffer = [];
    subscription.overflowed = false;
    subscription.arrivedAt = ++this.clock;
    subscription.headAtJoin = this.head;
  }

  private drop(memberId: string, reason: RemovedReason): boolean {
    const subscription = this.subscriptions.get(memberId);
    if (!subscription) return false;
    clearTimeout(subscription.repairTimer);
    subscription.removed = reason;
    subscription.buffer = [];
    this.subscriptions.delete(memberId);
    this.outlet.leave(memberId, this.room);
    return true;
  }

  /**
   * Sends the member's buffered events that follow its last one without a gap (in id order,
   * dropping what it already has). What remains after a gap is held, with a repair scheduled;
   * an empty buffer makes the member live.
   */
  private flush(subscription: Subscription<Update>): void {
    if (subscription.snapshotDue) {
      // Nothing is held while a snapshot is due: it is taken after these events were seen, so it covers them.
      subscription.buffer = [];
      this.hold(subscription, this.options.gapWaitMs);
      return;
    }
    const buffer = subscription.buffer.sort((a, b) => a.eventId - b.eventId);
    let next = 0;
    for (; next < buffer.length; next++) {
      const update = buffer[next]!;
      const step = sequenceStep(subscription.lastSentEventId, update.eventId);
      if (step === 'duplicate') continue;
      if (step === 'gap') break;
      this.outlet.update(subscription.memberId, update);
      subscription.lastSentEventId = update.eventId;
    }
    subscription.buffer = buffer.slice(next);
    if (subscription.buffer.length === 0) {
      clearTimeout(subscription.repairTimer);
      subscription.repairTimer = undefined;
      subscription.state = 'live';
      return;
    }
    if (subscription.buffer.length > this.options.holdMaxEvents) {
      // The hold is bounded: drop it and resync by a snapshot now (a failed one retries after the gap wait).
      this.observer.holdOverflow(subscription.memberId, subscription.buffer.length);
      subscription.buffer = [];
      subscription.snapshotDue = true;
      clearTimeout(subscription.repairTimer);
      subscription.repairTimer = undefined;
      this.hold(subscription, 0);
      return;
    }
    this.hold(subscription, this.options.gapWaitMs);
  }

  /** The member waits behind a gap; a repair runs after `delayMs` unless one is already scheduled. */
  private hold(subscription: Subscription<Update>, delayMs: number): void {
    subscription.state = 'held';
    subscription.repairTimer ??= setTimeout(() => this.repair(subscription), delayMs);
    subscription.repairTimer.unref?.();
  }

  /**
   * The gap wait passed: replay what the member misses after its last id (coalesced with others
   * at the same id). Should that not close the gap (the source itself lacks the ids), the next
   * repair sends a snapshot, so a member is never stuck behind a hole.
   */
  private repair(subscription: Subscription<Update>): void {
    subscription.repairTimer = undefined;
    if (subscription.removed || subscription.state !== 'held') return;
    this.enqueue(subscription.memberId, {}, 'gap').catch((error: unknown) => {
      subscription.repairedFrom = undefined;
      this.observer.repairFailed(error);
    });
  }

  /**
   * The request of a gap repair, decided when it runs (a sync queued before it may have moved the
   * member on): from the member's last id, or a snapshot when a repair from there already ran;
   * undefined when the member is no longer held.
   */
  private repairRequest(subscription: Subscription<Update>): SyncRequest | undefined {
    if (subscription.state !== 'held') return undefined;
    const from = subscription.lastSentEventId;
    const again = subscription.repairedFrom === from;
    subscription.repairedFrom = from;
    this.observer.gapRepair(subscription.memberId, from);
    return again || subscription.snapshotDue ? {} : { after: { eventId: from } };
  }

  private async runSync(
    subscription: Subscription<Update>,
    asked: SyncRequest,
    cause: SyncCause,
  ): Promise<void> {
    if (subscription.removed) return;
    const request = cause === 'gap' ? this.repairRequest(subscription) : asked;
    if (request === undefined) return;
    const wasLive = subscription.state !== 'syncing';
    const previous = { lastSent: subscription.lastSentEventId, held: subscription.buffer };
    if (wasLive) this.startBuffering(subscription);
    const { memberId, arrivedAt, headAtJoin } = subscription;
    let sentSomething = false;
    let lastSent: number | undefined;
    try {
      let reason: string = cause;
      if (request.after !== undefined) {
        const after = request.after.eventId;
        const replay = await this.replay(request.after, arrivedAt, headAtJoin);
        if (subscription.removed) return;
        if (replay.kind === 'events') {
          lastSent = after;
          for (const update of replay.updates) {
            const step = sequenceStep(lastSent, update.eventId);
            if (step === 'duplicate') continue;
            // Past a hole in the answer, the rest waits with the live buffer for what is missing.
            if (step === 'gap') {
              subscription.buffer.push(update);
              continue;
            }
            this.outlet.update(memberId, update);
            sentSomething = true;
            lastSent = update.eventId;
          }
          this.observer.synced('replay', cause);
        } else {
          reason = replay.reason;
        }
      }
      if (lastSent === undefined) {
        const gate = cause === 'requested' ? this.options.snapshotGate : undefined;
        // Before any query: a refused member costs nothing, and a live one goes on as it was.
        gate?.check(memberId, this.room);
        const snapshot = await this.snapshot(arrivedAt, headAtJoin);
        if (subscription.removed) return;
        this.outlet.initial(memberId, snapshot);
        gate?.record(memberId, this.room);
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
      subscription.snapshotDue = false;
      // Events held before this sync began are live events too: those past its answer follow it.
      if (wasLive) subscription.buffer.push(...previous.held);
      this.flush(subscription);
    } catch (error) {
      if (subscription.removed) return;
      if (wasLive && cause !== 'requested') {
        // No client waits for a background resync to hear that it failed: a live member stays,
        // continuing from what it was sent; what is missing is repaired after the gap wait.
        subscription.lastSentEventId = sentSomething ? lastSent! : previous.lastSent;
        if (!sentSomething) subscription.buffer = [...previous.held, ...subscription.buffer];
        subscription.overflowed = false;
        this.flush(subscription);
      } else if (wasLive && !sentSomething && !subscription.overflowed) {
        // Nothing was sent: continue the old stream, with what arrived meanwhile.
        subscription.lastSentEventId = previous.lastSent;
        subscription.buffer = [...previous.held, ...subscription.buffer];
        this.flush(subscription);
      } else if (subscription.waiting > 1) {
        // Another request of the member waits: it stays in, syncing, and that one starts afresh.
        this.startBuffering(subscription);
      } else {
        this.drop(memberId, 'failed');
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
        const fresh = await this.options.source.snapshot();
        const versionOf = this.options.snapshotVersion ?? ((s: Initial) => String(s.lastEventId));
        // The same version as the last one is the same state: hand out the same object.
        const snapshot =
          this.cached && versionOf(this.cached.snapshot) === versionOf(fresh) ? this.cached.snapshot : fresh;
        if (!this.cached || snapshot.lastEventId >= this.cached.snapshot.lastEventId) {
          this.cached = { snapshot, storedAtMs: this.now() };
        }
        return snapshot;
      },
      arrivedAt,
      (snapshot) => snapshot.lastEventId >= headAtJoin,
    );
  }

  private replay(after: StreamPosition, arrivedAt: number, headAtJoin: number): Promise<FeedReplay<Update>> {
    const limit = this.options.replayLimit;
    return this.replays.obtain(
      `${after.epoch ?? ''}|${after.eventId}`,
      () => this.options.source.replay({ after, limit }),
      arrivedAt,
      (replay) =>
        replay.kind === 'fallback' || (replay.updates.at(-1)?.eventId ?? after.eventId) >= headAtJoin,
    );
  }
}

import type { StreamPosition } from '@tideline/contracts';
import { TidelineClientError } from './errors.ts';
import { type Change, Replica, type ReplicaOptions, type ReplicaUpdate, type Snapshot } from './replica.ts';

/**
 * - `subscribing`: waiting for the first snapshot (also while the client is not connected yet);
 * - `live`: the list is current and follows the updates;
 * - `resyncing`: it holds a list and resumes from its position (after a reconnect or a gap);
 * - `failed`: the server refused or did not answer; see {@link LiveCollection.failure} — retried
 *   with backoff unless `terminal` (FORBIDDEN, NOT_FOUND, BAD_REQUEST);
 * - `idle`: closed, or its source was removed (the cluster was unregistered).
 */
export type CollectionState = 'idle' | 'subscribing' | 'live' | 'resyncing' | 'failed';

/** Codes after which a collection does not ask again: the same request would be refused again. */
export const TERMINAL_COLLECTION_CODES: ReadonlySet<string> = new Set([
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_REQUEST',
]);

export interface CollectionFailure {
  /** The server's error code, or `TIMEOUT` when the request was not acknowledged in time. */
  code: string;
  message: string;
  /** True: the collection will not ask again (FORBIDDEN, NOT_FOUND, BAD_REQUEST); false: a retry is scheduled. */
  terminal: boolean;
}

/** How a (re)sync request ended: acknowledged, refused/unanswered, or overtaken by the connection going away. */
export type SyncOutcome = { ok: true } | { ok: false; code: string; message: string };

/** Code of a {@link SyncOutcome} whose connection went away before the answer; the resume follows on reconnect. */
export const DISCONNECTED = 'DISCONNECTED';

/** What a collection needs from the connection: send its (re)sync request, learn how it ended. */
export interface CollectionTransport {
  /** Emits the request; resolves once the server acknowledged it (initial or replay sent) or it failed. */
  request(payload: Record<string, unknown>): Promise<SyncOutcome>;
  /** For collections with an unsubscribe event. */
  release?(): void;
  /** The delay before retry number `attempt` (0-based) of a failed, non-terminal sync. */
  retryDelayMs?(attempt: number): number;
}

/** Everything a view shows of a collection, as one immutable value (a new object after each change). */
export interface CollectionSnapshot<T> {
  items: readonly T[];
  state: CollectionState;
  failure: CollectionFailure | undefined;
  position: StreamPosition | undefined;
  /** After a resume: true when the missed events were replayed, false when a fresh snapshot replaced the list. */
  recovered: boolean | undefined;
}

interface PendingSync {
  resuming: boolean;
  snapshotSeen: boolean;
}

/**
 * A live collection: the current list as a local replica (snapshot, then updates), its
 * {@link position}, and change callbacks. After a reconnect it resumes from its position; on a
 * gap it asks for a replay; a fresh snapshot replaces the list. When its source is removed (the
 * cluster was unregistered) the list empties, listeners get a `removed` change, and it goes idle.
 */
export class LiveCollection<T> {
  private readonly replica: Replica<T>;
  private readonly listeners = new Set<(change: Change<T>, collection: LiveCollection<T>) => void>();
  private readonly stateListeners = new Set<
    (state: CollectionState, collection: LiveCollection<T>) => void
  >();
  private readonly watchers = new Set<() => void>();
  private readonly waiters = new Set<{ resolve: (items: T[]) => void; reject: (error: Error) => void }>();
  private readonly closeHooks = new Set<() => void>();
  private current: CollectionState = 'subscribing';
  private currentFailure: CollectionFailure | undefined;
  private transport: CollectionTransport | undefined;
  private pending: PendingSync | undefined;
  private awaitingReplayFrom: number | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;
  private wasRecovered: boolean | undefined;
  private holders = 0;
  private isClosed = false;
  private cached: CollectionSnapshot<T> | undefined;

  constructor(
    readonly name: string,
    options: ReplicaOptions<T>,
    /** The (re)sync request on the wire, from the position held (undefined: a snapshot). */
    private readonly requestPayload: (position: StreamPosition | undefined) => Record<string, unknown>,
  ) {
    this.replica = new Replica(options);
  }

  get state(): CollectionState {
    return this.current;
  }

  /** Why the collection is `failed`; undefined in every other state. */
  get failure(): CollectionFailure | undefined {
    return this.currentFailure;
  }

  /** After the last (re)sync: true when it resumed by replay, false after a snapshot; undefined before. */
  get recovered(): boolean | undefined {
    return this.wasRecovered;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The last event the list reflects (with the stream's epoch); undefined before the first snapshot. */
  get position(): StreamPosition | undefined {
    return this.replica.position;
  }

  items(): T[] {
    return this.replica.list();
  }

  get(key: string): T | undefined {
    return this.replica.get(key);
  }

  get size(): number {
    return this.replica.size;
  }

  /** The collection as one immutable value; the same object until the next change or state. */
  snapshot(): CollectionSnapshot<T> {
    this.cached ??= {
      items: this.replica.list(),
      state: this.current,
      failure: this.currentFailure,
      position: this.replica.position,
      recovered: this.wasRecovered,
    };
    return this.cached;
  }

  /**
   * Resolves with the items once the collection is live (at once when it is); rejects with a
   * {@link TidelineClientError} when it fails for good (FORBIDDEN, NOT_FOUND), is closed or
   * removed, or the client fails (UNAUTHORIZED).
   */
  whenSynced(): Promise<T[]> {
    if (this.current === 'live') return Promise.resolve(this.items());
    if (this.isClosed) return Promise.reject(new TidelineClientError('CLOSED', `${this.name} was closed`));
    if (this.currentFailure?.terminal)
      return Promise.reject(new TidelineClientError(this.currentFailure.code, this.currentFailure.message));
    return new Promise((resolve, reject) => this.waiters.add({ resolve, reject }));
  }

  /** Calls `listener` after every applied change (`reset` after a snapshot). Returns an unsubscribe. */
  onChange(listener: (change: Change<T>, collection: LiveCollection<T>) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Calls `listener` on every state change (read {@link failure} when `failed`). Returns an unsubscribe. */
  onState(listener: (state: CollectionState, collection: LiveCollection<T>) => void): () => void {
    this.stateListeners.add(listener);
    return () => void this.stateListeners.delete(listener);
  }

  /** Calls `listener` after any change of items or state (for `useSyncExternalStore`). Returns an unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  /** Called once when the collection is closed (the client forgets it). Returns an unsubscribe. */
  onClose(hook: () => void): () => void {
    this.closeHooks.add(hook);
    return () => void this.closeHooks.delete(hook);
  }

  /**
   * Declares one more user of this collection (a component, a view). The returned release is
   * idempotent; when the last holder releases, the collection closes (unsubscribing on the wire)
   * — after the current task, so a holder that releases and takes it again at once keeps it.
   */
  retain(): () => void {
    this.holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      if (this.holders === 0)
        queueMicrotask(() => {
          if (this.holders === 0) this.close();
        });
    };
  }

  /**
   * (Re)synchronises over a connection: resume from its position when it has one (unless
   * `fromScratch`), else ask for a snapshot.
   */
  async sync(transport: CollectionTransport, fromScratch = false): Promise<void> {
    if (this.isClosed || this.currentFailure?.terminal) return;
    clearTimeout(this.retryTimer);
    this.transport = transport;
    const position = fromScratch ? undefined : this.replica.position;
    const pending: PendingSync = { resuming: position !== undefined, snapshotSeen: false };
    this.pending = pending;
    this.currentFailure = undefined;
    this.setState(position ? 'resyncing' : 'subscribing');
    const outcome = await transport.request(this.requestPayload(position));
    if (this.transport !== transport || this.pending !== pending) return;
    this.pending = undefined;
    if (outcome.ok) {
      this.retries = 0;
      // A resume answered without a snapshot: the server replayed what was missed (before its ack).
      if (!pending.snapshotSeen && this.replica.position) {
        this.wasRecovered = pending.resuming;
        this.goLive();
      }
      return;
    }
    if (outcome.code === DISCONNECTED) return;
    const terminal = TERMINAL_COLLECTION_CODES.has(outcome.code);
    this.fail({ code: outcome.code, message: outcome.message, terminal });
    if (terminal) return;
    const delay = transport.retryDelayMs?.(this.retries) ?? 0;
    this.retries++;
    this.retryTimer = setTimeout(() => {
      if (this.transport === transport) void this.sync(transport);
    }, delay);
  }

  /** The connection is gone; the replica is kept for the resume. */
  detach(): void {
    this.transport = undefined;
    this.pending = undefined;
    clearTimeout(this.retryTimer);
    if (this.current === 'idle' || this.currentFailure?.terminal) return;
    this.currentFailure = undefined;
    this.setState(this.replica.position ? 'resyncing' : 'subscribing');
  }

  onSnapshot(snapshot: Snapshot<T>): void {
    if (this.isClosed) return;
    this.awaitingReplayFrom = undefined;
    if (this.pending) this.pending.snapshotSeen = true;
    this.emit(this.replica.applySnapshot(snapshot));
    if (!this.transport) return;
    clearTimeout(this.retryTimer);
    this.wasRecovered = false;
    this.currentFailure = undefined;
    this.goLive();
  }

  onUpdate(update: ReplicaUpdate<T>): void {
    if (this.isClosed) return;
    const { result, change, needsSnapshot } = this.replica.apply(update);
    if (result === 'applied' && change) {
      this.awaitingReplayFrom = undefined;
      this.emit(change);
      return;
    }
    if (needsSnapshot) {
      // A delta for an item this replica lacks: only a fresh snapshot makes it exact again.
      if (this.transport && !this.pending) void this.sync(this.transport, true);
      return;
    }
    const from = this.replica.position?.eventId;
    if (result === 'gap' && this.transport && this.awaitingReplayFrom !== from) {
      this.awaitingReplayFrom = from;
      void this.sync(this.transport);
    }
  }

  /**
   * The source was removed at `eventId` (`nodes:removed`): the server already took the socket
   * out, so the list empties, listeners get a `removed` change, and the collection goes idle.
   */
  onRemoved(eventId: number): void {
    this.transport = undefined;
    this.pending = undefined;
    this.awaitingReplayFrom = undefined;
    clearTimeout(this.retryTimer);
    this.emit(this.replica.clear(eventId));
    this.setState('idle');
    this.rejectWaiters(new TidelineClientError('REMOVED', `${this.name}: its source was removed`));
  }

  /** Rejects every pending {@link whenSynced} (the client failed for good). */
  rejectWaiters(error: Error): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Stops following (unsubscribing on the wire where the protocol has it); the client forgets it. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.transport?.release?.();
    this.transport = undefined;
    this.pending = undefined;
    clearTimeout(this.retryTimer);
    this.setState('idle');
    this.rejectWaiters(new TidelineClientError('CLOSED', `${this.name} was closed`));
    this.listeners.clear();
    const hooks = [...this.closeHooks];
    this.closeHooks.clear();
    for (const hook of hooks) hook();
    this.stateListeners.clear();
    this.watchers.clear();
  }

  private goLive(): void {
    this.setState('live');
    const waiters = [...this.waiters];
    this.waiters.clear();
    const items = this.items();
    for (const waiter of waiters) waiter.resolve(items);
  }

  private fail(failure: CollectionFailure): void {
    this.currentFailure = failure;
    this.setState('failed', true);
    if (failure.terminal) this.rejectWaiters(new TidelineClientError(failure.code, failure.message));
  }

  private emit(change: Change<T>): void {
    this.cached = undefined;
    for (const listener of this.listeners) listener(change, this);
    for (const watcher of this.watchers) watcher();
  }

  private setState(state: CollectionState, force = false): void {
    if (state === this.current && !force) return;
    this.current = state;
    this.cached = undefined;
    for (const listener of this.stateListeners) listener(state, this);
    for (const watcher of this.watchers) watcher();
  }
}

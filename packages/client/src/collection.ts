import type { StreamPosition } from '@tideline/contracts';
import { type Change, Replica, type ReplicaOptions, type ReplicaUpdate, type Snapshot } from './replica.ts';

export type CollectionState = 'idle' | 'syncing' | 'live';

/** What a collection needs from the connection: send its (re)sync request, learn that it was answered. */
export interface CollectionTransport {
  /** Emits the request; resolves true once the server acknowledged it (initial or replay sent). */
  request(payload: Record<string, unknown>): Promise<boolean>;
  /** For collections with an unsubscribe event. */
  release?(): void;
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
  private readonly stateListeners = new Set<(state: CollectionState) => void>();
  private current: CollectionState = 'idle';
  private transport: CollectionTransport | undefined;
  private awaitingReplayFrom: number | undefined;

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

  /** Calls `listener` after every applied change (`reset` after a snapshot). Returns an unsubscribe. */
  onChange(listener: (change: Change<T>, collection: LiveCollection<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (state: CollectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** (Re)synchronises over a connection: resume from its position when it has one, else ask for a snapshot. */
  async sync(transport: CollectionTransport): Promise<void> {
    this.transport = transport;
    this.setState('syncing');
    const acknowledged = await transport.request(this.requestPayload(this.replica.position));
    if (acknowledged && this.transport === transport && this.replica.position) this.setState('live');
  }

  /** The connection is gone; the replica is kept for the resume. */
  detach(): void {
    this.transport = undefined;
    if (this.current !== 'idle') this.setState('syncing');
  }

  onSnapshot(snapshot: Snapshot<T>): void {
    this.awaitingReplayFrom = undefined;
    this.emit(this.replica.applySnapshot(snapshot));
    if (this.transport) this.setState('live');
  }

  onUpdate(update: ReplicaUpdate<T>): void {
    const { result, change } = this.replica.apply(update);
    if (result === 'applied' && change) {
      this.awaitingReplayFrom = undefined;
      this.emit(change);
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
    this.awaitingReplayFrom = undefined;
    this.emit(this.replica.clear(eventId));
    this.setState('idle');
  }

  close(): void {
    this.transport?.release?.();
    this.transport = undefined;
    this.setState('idle');
    this.listeners.clear();
  }

  private emit(change: Change<T>): void {
    for (const listener of this.listeners) listener(change, this);
  }

  private setState(state: CollectionState): void {
    if (state === this.current) return;
    this.current = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

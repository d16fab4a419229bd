/** An update as the gateway sends it (`websites:update`, `nodes:update`). */
export interface ReplicaUpdate<T> {
  eventId: number;
  type: string;
  data: T | { [key: string]: unknown };
}

export interface Snapshot<T> {
  items: T[];
  lastEventId: number;
  version?: string | undefined;
}

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

export interface Change<T> {
  kind: 'reset' | 'upsert' | 'delete';
  key?: string;
  item?: T;
  eventId: number;
}

export interface ReplicaOptions<T> {
  /** The identity of an item: `website_id` for websites, `name` for nodes. */
  keyOf: (item: T) => string;
  /** The key of a delete payload (which may carry only the id). */
  keyOfDeleted: (data: Record<string, unknown>) => string;
  /** Event types that remove an item. */
  deleteTypes: readonly string[];
}

/**
 * The local copy of one live collection. It applies a snapshot, then updates strictly in eventId
 * order: an id it has already seen is a duplicate and is ignored; an id past the next one is a
 * gap, which is not applied, so the owner asks for a replay from {@link lastEventId}.
 */
export class Replica<T> {
  private readonly items = new Map<string, T>();
  private last = 0;
  private epoch: string | undefined;
  private synced = false;

  constructor(private readonly options: ReplicaOptions<T>) {}

  get lastEventId(): number {
    return this.last;
  }

  get version(): string | undefined {
    return this.epoch;
  }

  /** True once a snapshot was applied. */
  get isSynced(): boolean {
    return this.synced;
  }

  /** Items in insertion order of the snapshot, then of later adds. */
  list(): T[] {
    return [...this.items.values()];
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  get size(): number {
    return this.items.size;
  }

  applySnapshot(snapshot: Snapshot<T>): Change<T> {
    this.items.clear();
    for (const item of snapshot.items) this.items.set(this.options.keyOf(item), item);
    this.last = snapshot.lastEventId;
    this.epoch = snapshot.version;
    this.synced = true;
    return { kind: 'reset', eventId: snapshot.lastEventId };
  }

  apply(update: ReplicaUpdate<T>): { result: ApplyResult; change?: Change<T> } {
    if (!this.synced || update.eventId <= this.last) return { result: 'duplicate' };
    if (update.eventId !== this.last + 1) return { result: 'gap' };
    this.last = update.eventId;
    if (this.options.deleteTypes.includes(update.type)) {
      const key = this.options.keyOfDeleted(update.data as Record<string, unknown>);
      this.items.delete(key);
      return { result: 'applied', change: { kind: 'delete', key, eventId: update.eventId } };
    }
    const item = update.data as T;
    const key = this.options.keyOf(item);
    this.items.set(key, item);
    return { result: 'applied', change: { kind: 'upsert', key, item, eventId: update.eventId } };
  }

  /** Forget the snapshot (e.g. the server changed epoch); the next snapshot starts afresh. */
  invalidate(): void {
    this.synced = false;
  }
}

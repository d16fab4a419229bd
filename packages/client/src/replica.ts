import { type SequenceStep, type StreamPosition, sequenceStep } from '@tideline/contracts';

/** An update as the gateway sends it (`websites:update`, `nodes:update`). */
export interface ReplicaUpdate<T> {
  eventId: number;
  type: string;
  data: T | { [key: string]: unknown };
  /** The names of the fields that changed, when the wire says (`nodes:update`). */
  changed?: readonly string[] | undefined;
  /**
   * A delta (`nodes:update` to a subscription granted deltas): the item `key` becomes
   * `applyPatch(held copy, patch)`; `data` is then unused.
   */
  key?: string | undefined;
  patch?: unknown;
}

export interface Snapshot<T> {
  items: T[];
  lastEventId: number;
  version?: string | undefined;
}

/** Where an update stood against the replica: applied, a duplicate (ignored) or past a gap (not applied). */
export type ApplyResult = SequenceStep;

export interface Change<T> {
  /** `reset`: a snapshot replaced the list; `removed`: the collection's source is gone and the list empty. */
  kind: 'reset' | 'upsert' | 'delete' | 'removed';
  key?: string;
  item?: T;
  eventId: number;
  /**
   * With `upsert`: the names of the top-level fields that changed — as the update names them
   * (`nodes:update` carries `changed`), else those whose value differs from the copy held (every
   * field of an item not held before).
   */
  changed?: string[];
}

export interface ReplicaOptions<T> {
  /** The identity of an item: `website_id` for websites, `name` for nodes. */
  keyOf: (item: T) => string;
  /** The key of a delete payload (which may carry only the id). */
  keyOfDeleted: (data: Record<string, unknown>) => string;
  /** Event types that remove an item. */
  deleteTypes: readonly string[];
  /** Applies a delta's patch to the copy held, returning the new item (the held one stays unchanged). */
  applyPatch?: (item: T, patch: unknown) => T;
}

/** What applying an update did; `needsSnapshot`: a delta for an item the replica lacks (nothing applied). */
export interface ApplyOutcome<T> {
  result: ApplyResult;
  change?: Change<T>;
  needsSnapshot?: boolean;
}

/**
 * The local copy of one live collection. It applies a snapshot, then updates strictly in eventId
 * order (the contracts' one sequence rule): an id it has already seen is a duplicate and is
 * ignored; an id past the next one is a gap, which is not applied, so the owner asks for a replay
 * from {@link position}.
 */
export class Replica<T> {
  private readonly items = new Map<string, T>();
  private current: StreamPosition | undefined;

  constructor(private readonly options: ReplicaOptions<T>) {}

  /** The last event the list reflects, with the stream's epoch; undefined before the first snapshot. */
  get position(): StreamPosition | undefined {
    return this.current;
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
    this.current =
      snapshot.version === undefined
        ? { eventId: snapshot.lastEventId }
        : { eventId: snapshot.lastEventId, epoch: snapshot.version };
    return { kind: 'reset', eventId: snapshot.lastEventId };
  }

  /**
   * Applies the next update. A delta is applied to the copy held of its item, which — the
   * updates being applied in id order without gaps — is the item as of the item's previous
   * event: the result equals the full row. A delta for an item not held cannot be applied
   * (the replica and the stream disagree): nothing changes and `needsSnapshot` asks for a fresh one.
   */
  apply(update: ReplicaUpdate<T>): ApplyOutcome<T> {
    // Before the first snapshot nothing can be applied; the snapshot will cover it.
    if (!this.current) return { result: 'duplicate' };
    const result = sequenceStep(this.current.eventId, update.eventId);
    if (result !== 'applied') return { result };
    if (update.patch !== undefined) {
      const key = update.key ?? '';
      const held = this.items.get(key);
      if (held === undefined || !this.options.applyPatch) return { result: 'gap', needsSnapshot: true };
      const item = this.options.applyPatch(held, update.patch);
      this.current = { ...this.current, eventId: update.eventId };
      this.items.set(key, item);
      const changed = update.changed ? [...update.changed] : changedFields(held, item);
      return { result, change: { kind: 'upsert', key, item, eventId: update.eventId, changed } };
    }
    this.current = { ...this.current, eventId: update.eventId };
    if (this.options.deleteTypes.includes(update.type)) {
      const key = this.options.keyOfDeleted(update.data as Record<string, unknown>);
      this.items.delete(key);
      return { result, change: { kind: 'delete', key, eventId: update.eventId } };
    }
    const item = update.data as T;
    const key = this.options.keyOf(item);
    const changed = update.changed ? [...update.changed] : changedFields(this.items.get(key), item);
    this.items.set(key, item);
    return { result, change: { kind: 'upsert', key, item, eventId: update.eventId, changed } };
  }

  /** The source is gone (the cluster was unregistered at `eventId`): the list empties, the position is forgotten. */
  clear(eventId: number): Change<T> {
    this.items.clear();
    this.current = undefined;
    return { kind: 'removed', eventId };
  }
}

/** The top-level fields whose value differs between two copies of an item (all of `after`'s without `before`). */
export function changedFields(before: unknown, after: unknown): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  if (before === undefined) return Object.keys(b);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => !sameValue(a[key], b[key]));
}

function sameValue(x: unknown, y: unknown): boolean {
  if (Object.is(x, y)) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
  return JSON.stringify(x) === JSON.stringify(y);
}

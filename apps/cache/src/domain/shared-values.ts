interface Held<T> {
  readonly key: string;
  readonly value: T;
  holders: number;
}

/**
 * Equal values held once: {@link acquire} answers the one held instance equal to a value (equal by
 * `keyOf`, JSON by default), counting its holders; {@link release} forgets it after its last
 * holder let it go, so the pool never holds more than what is in use. Nodes of one pool of
 * machines share capacity, node info, conditions and taints, so a cluster holds a handful of each
 * instead of one per node. Held objects are frozen: a holder never changes one in place, it
 * acquires another.
 */
export class SharedValues<T> {
  private readonly byKey = new Map<string, Held<T>>();
  private readonly byValue = new Map<T, Held<T>>();

  constructor(private readonly keyOf: (value: T) => string = (value) => JSON.stringify(value)) {}

  /** Distinct values held. */
  get size(): number {
    return this.byKey.size;
  }

  /** The held instance equal to `value` (`value` itself, frozen, when none was held). */
  acquire(value: T): T {
    const key = this.keyOf(value);
    const held = this.byKey.get(key);
    if (held) {
      held.holders += 1;
      return held.value;
    }
    const fresh: Held<T> = { key, value: deepFreeze(value), holders: 1 };
    this.byKey.set(key, fresh);
    this.byValue.set(value, fresh);
    return value;
  }

  /** The held instance equal to `value`, or `value` itself; counts no holder. */
  peek(value: T): T {
    return this.byKey.get(this.keyOf(value))?.value ?? value;
  }

  /** One holder of `value` (an instance {@link acquire} answered) lets it go. */
  release(value: T): void {
    const held = this.byValue.get(value);
    if (!held) return;
    held.holders -= 1;
    if (held.holders > 0) return;
    this.byKey.delete(held.key);
    this.byValue.delete(value);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

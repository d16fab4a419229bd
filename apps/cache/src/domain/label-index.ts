/** The holders of one label value: one member, or a set once there are several. */
export type Members<T> = T | Set<T>;

class ValueEntry<T> {
  members: Members<T> | undefined;
  size = 0;
  constructor(readonly value: string) {}

  add(member: T): void {
    if (this.members === undefined) this.members = member;
    else if (this.members instanceof Set) this.members.add(member);
    else this.members = new Set([this.members, member]);
    this.size += 1;
  }

  delete(member: T): void {
    if (this.members instanceof Set) {
      this.members.delete(member);
      if (this.members.size === 1) this.members = this.members.values().next().value;
    } else if (this.members === member) this.members = undefined;
    this.size -= 1;
  }
}

class KeyEntry<T> {
  readonly values = new Map<string, ValueEntry<T>>();
  /** Members having the key, whatever its value. */
  size = 0;
  constructor(readonly key: string) {}
}

/** Calls `visit` for each member of `members`. */
export function forEachMember<T>(members: Members<T> | undefined, visit: (member: T) => void): void {
  if (members === undefined) return;
  if (members instanceof Set) for (const member of members) visit(member);
  else visit(members);
}

/**
 * An inverted index label key → value → the members having that label, for answering label
 * selectors in time proportional to the matches rather than to the cluster. It also holds each
 * distinct key and value once: {@link add} answers the labels rebuilt from the index's own
 * strings, so equal labels of many nodes share their text.
 */
export class LabelIndex<T> {
  private readonly keys = new Map<string, KeyEntry<T>>();

  /** Indexes `member` under `labels`; answers the labels made of the index's strings. */
  add(member: T, labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    const pairs: [string, string][] = [];
    for (const [key, value] of Object.entries(labels)) {
      let keyEntry = this.keys.get(key);
      if (!keyEntry) {
        keyEntry = new KeyEntry(key);
        this.keys.set(key, keyEntry);
      }
      let valueEntry = keyEntry.values.get(value);
      if (!valueEntry) {
        valueEntry = new ValueEntry(value);
        keyEntry.values.set(value, valueEntry);
      }
      valueEntry.add(member);
      keyEntry.size += 1;
      pairs.push([keyEntry.key, valueEntry.value]);
    }
    // fromEntries defines own properties, so even a `__proto__` label stays a label.
    return Object.freeze(Object.fromEntries(pairs));
  }

  /** Forgets `member` under `labels` (the labels it was added with). */
  remove(member: T, labels: Readonly<Record<string, string>>): void {
    for (const [key, value] of Object.entries(labels)) {
      const keyEntry = this.keys.get(key);
      const valueEntry = keyEntry?.values.get(value);
      if (!keyEntry || !valueEntry) continue;
      valueEntry.delete(member);
      keyEntry.size -= 1;
      if (valueEntry.size === 0) keyEntry.values.delete(value);
      if (keyEntry.size === 0) this.keys.delete(key);
    }
  }

  /** Members whose label `key` is `value`. */
  withValue(key: string, value: string): { members: Members<T> | undefined; size: number } {
    const entry = this.keys.get(key)?.values.get(value);
    return { members: entry?.members, size: entry?.size ?? 0 };
  }

  /** Members having label `key`, by value. */
  withKey(key: string): { members: (Members<T> | undefined)[]; size: number } {
    const entry = this.keys.get(key);
    if (!entry) return { members: [], size: 0 };
    return { members: [...entry.values.values()].map((v) => v.members), size: entry.size };
  }

  clear(): void {
    this.keys.clear();
  }
}

import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.ts';

describe('RecentIds', () => {
  it('dedup window - remembers the last capacity ids and forgets the oldest first', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c']) ids.add(id);
    expect(['a', 'b', 'c'].map((id) => ids.has(id))).toEqual([true, true, true]);
    ids.add('d');
    expect(ids.has('a')).toBe(false);
    expect(['b', 'c', 'd'].map((id) => ids.has(id))).toEqual([true, true, true]);
  });

  it('dedup window - adding an id again makes it the newest, so it outlives older ones', () => {
    const ids = new RecentIds(2);
    ids.add('a');
    ids.add('b');
    ids.add('a');
    ids.add('c');
    expect(ids.has('a')).toBe(true);
    expect(ids.has('b')).toBe(false);
  });

  it('dedup window - a capacity of 0 remembers nothing; a negative or fractional one is refused', () => {
    const none = new RecentIds(0);
    none.add('a');
    expect(none.has('a')).toBe(false);
    expect(() => new RecentIds(-1)).toThrow(RangeError);
    expect(() => new RecentIds(1.5)).toThrow(RangeError);
  });
});

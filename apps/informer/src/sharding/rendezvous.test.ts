import { describe, expect, it } from 'vitest';
import { ownerOf } from './rendezvous.ts';

const clusters = Array.from({ length: 12 }, (_, i) => `cluster-${String(i).padStart(2, '0')}`);

describe('rendezvous ownership', () => {
  it('ownership - every replica that sees the same members picks the same owner, whatever their order', () => {
    const members = ['informer-a', 'informer-b', 'informer-c'];
    for (const cluster of clusters) {
      expect(ownerOf(cluster, members)).toBe(ownerOf(cluster, [...members].reverse()));
      expect(members).toContain(ownerOf(cluster, members));
    }
    expect(ownerOf('c', [])).toBeUndefined();
  });

  it('ownership - a joining replica takes clusters only for itself and a leaving one moves only its own', () => {
    const three = ['informer-a', 'informer-b', 'informer-c'];
    const four = [...three, 'informer-d'];
    for (const cluster of clusters) {
      const before = ownerOf(cluster, three);
      const after = ownerOf(cluster, four);
      // A cluster either stays or moves to the newcomer, never between old members.
      expect(after === before || after === 'informer-d').toBe(true);
      // And back: removing the newcomer restores the previous owner.
      expect(ownerOf(cluster, three)).toBe(before);
    }
  });
});

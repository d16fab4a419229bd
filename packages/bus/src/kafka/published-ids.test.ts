import { describe, expect, it } from 'vitest';
import type { PublishReceipt } from '../types.ts';
import { PublishedIds } from './published-ids.ts';

const receipt = (position: number): Promise<PublishReceipt> =>
  Promise.resolve({ topic: 'orders', position, duplicate: false });

describe('PublishedIds', () => {
  it('window - remembers an id for the duplicate window only', async () => {
    let now = 1_000;
    const ids = new PublishedIds(500, 10, () => now);
    ids.remember('a', receipt(1));
    expect(await ids.lookup('a')).toMatchObject({ position: 1 });
    now += 499;
    expect(ids.lookup('a')).toBeDefined();
    now += 1;
    expect(ids.lookup('a')).toBeUndefined();
  });

  it('capacity - forgets the oldest ids beyond its capacity', () => {
    const ids = new PublishedIds(60_000, 2);
    ids.remember('a', receipt(1));
    ids.remember('b', receipt(2));
    ids.remember('c', receipt(3));
    expect(ids.size).toBe(2);
    expect(ids.lookup('a')).toBeUndefined();
    expect(ids.lookup('c')).toBeDefined();
  });

  it('failure - a failed publish is forgotten, so its retry is sent', async () => {
    const ids = new PublishedIds(60_000, 10);
    const failed = Promise.reject(new Error('broker down'));
    ids.remember('a', failed);
    await failed.catch(() => undefined);
    expect(ids.lookup('a')).toBeUndefined();
  });
});

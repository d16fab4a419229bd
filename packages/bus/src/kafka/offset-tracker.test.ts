import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.ts';

describe('OffsetTracker', () => {
  it('commit - never passes an unsettled offset', () => {
    const tracker = new OffsetTracker();
    for (const offset of [5n, 6n, 7n]) expect(tracker.take(0, offset)).toBe(true);
    tracker.settle(0, 6n);
    tracker.settle(0, 7n);
    expect(tracker.due()).toEqual([{ partition: 0, offset: 5n }]);
    tracker.markCommitted(0, 5n);
    expect(tracker.due()).toEqual([]);
    tracker.settle(0, 5n);
    expect(tracker.due()).toEqual([{ partition: 0, offset: 8n }]);
  });

  it('take - refuses offsets taken before (a refetch after a rejoin)', () => {
    const tracker = new OffsetTracker();
    tracker.take(0, 10n);
    tracker.take(0, 11n);
    expect(tracker.take(0, 10n)).toBe(false);
    expect(tracker.take(0, 11n)).toBe(false);
    expect(tracker.take(0, 12n)).toBe(true);
    expect(tracker.take(1, 0n)).toBe(true);
    expect(tracker.unsettled()).toBe(4);
  });

  it('commit - partitions move independently, and an older commit never goes out again', () => {
    const tracker = new OffsetTracker();
    tracker.take(0, 0n);
    tracker.take(1, 3n);
    tracker.settle(1, 3n);
    expect(tracker.due()).toEqual([
      { partition: 0, offset: 0n },
      { partition: 1, offset: 4n },
    ]);
    tracker.markCommitted(1, 4n);
    tracker.markCommitted(1, 2n);
    expect(tracker.due()).toEqual([{ partition: 0, offset: 0n }]);
  });
});

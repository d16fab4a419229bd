import { describe, expect, it } from 'vitest';
import { nextPurgeThrough } from './retention.ts';

const base = {
  purgedThroughId: 0,
  lastEventId: 1000,
  publishedId: 1000,
  maxRows: 100,
  agedThroughId: undefined,
  batchRows: 10_000,
};

describe('nextPurgeThrough', () => {
  it('retention - keeps the newest maxRows events', () => {
    expect(nextPurgeThrough(base)).toBe(900);
  });

  it('retention - the age limit purges more when it keeps fewer rows, less never', () => {
    expect(nextPurgeThrough({ ...base, agedThroughId: 950 })).toBe(950);
    expect(nextPurgeThrough({ ...base, agedThroughId: 10 })).toBe(900);
    expect(nextPurgeThrough({ ...base, maxRows: 5000, agedThroughId: 10 })).toBe(10);
  });

  it('retention - never past the last published event', () => {
    expect(nextPurgeThrough({ ...base, publishedId: 500 })).toBe(500);
    expect(nextPurgeThrough({ ...base, publishedId: 0 })).toBe(0);
  });

  it('retention - at most one batch past the last purge, and never backwards', () => {
    expect(nextPurgeThrough({ ...base, purgedThroughId: 300, batchRows: 50 })).toBe(350);
    expect(nextPurgeThrough({ ...base, purgedThroughId: 950 })).toBe(950);
    expect(nextPurgeThrough({ ...base, lastEventId: 50 })).toBe(0);
  });
});

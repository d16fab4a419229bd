import { describe, expect, it } from 'vitest';
import { replayFallback } from './replay.ts';

const position = { epoch: 'e1', lastEventId: 100, purgedThroughId: 40 };

describe('replayFallback', () => {
  it('replay - replays from the purge horizon up to the last id within the limit', () => {
    expect(replayFallback({ after: 40, limit: 60 }, position)).toBeUndefined();
    expect(replayFallback({ after: 100, limit: 1, version: 'e1' }, position)).toBeUndefined();
    expect(replayFallback({ after: 99, limit: 1 }, position)).toBeUndefined();
  });

  it('replay - falls back when lastEventId is purged, in the future or too far behind', () => {
    expect(replayFallback({ after: 39, limit: 500 }, position)).toBe('purged');
    expect(replayFallback({ after: 0, limit: 500 }, position)).toBe('purged');
    expect(replayFallback({ after: 101, limit: 500 }, position)).toBe('future');
    expect(replayFallback({ after: 40, limit: 59 }, position)).toBe('too-many');
  });

  it('replay - another epoch wins over every other reason', () => {
    expect(replayFallback({ after: 101, limit: 500, version: 'e0' }, position)).toBe('other-version');
    expect(replayFallback({ after: 50, limit: 500, version: 'e0' }, position)).toBe('other-version');
  });

  it('replay - an empty log replays from 0 and refuses anything later', () => {
    const empty = { epoch: 'e1', lastEventId: 0, purgedThroughId: 0 };
    expect(replayFallback({ after: 0, limit: 500 }, empty)).toBeUndefined();
    expect(replayFallback({ after: 1, limit: 500 }, empty)).toBe('future');
  });
});

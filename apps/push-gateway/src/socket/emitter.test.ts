import { describe, expect, it } from 'vitest';
import { audienceOf } from './emitter.ts';

describe('audienceOf', () => {
  it('push audience - room:<feed room> reaches the followers of that feed, in its own room', () => {
    expect(audienceOf('room:websites')).toBe('websites');
    expect(audienceOf('room:nodes:prod-eu')).toBe('nodes:prod-eu');
  });

  it('push audience - user rooms stay; a room:<name> naming no feed stays a room nobody joined', () => {
    expect(audienceOf('user:alice')).toBe('user:alice');
    expect(audienceOf('room:user:alice')).toBe('room:user:alice');
    expect(audienceOf('room:other')).toBe('room:other');
  });
});

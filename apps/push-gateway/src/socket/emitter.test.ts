import { describe, expect, it } from 'vitest';
import { audienceOf } from './emitter.ts';

describe('audienceOf', () => {
  it('push audience - room:<feed room> reaches the followers of that feed, in its own room', () => {
    expect(audienceOf('room:websites')).toEqual(['websites']);
    expect(audienceOf('room:nodes:prod-eu')).toEqual(['nodes:prod-eu', 'nodes:prod-eu:delta']);
    expect(audienceOf('room:nodes:prod-eu:delta')).toEqual(['nodes:prod-eu:delta']);
  });

  it('push audience - user rooms stay; a room:<name> naming no feed stays a room nobody joined', () => {
    expect(audienceOf('user:alice')).toEqual(['user:alice']);
    expect(audienceOf('room:user:alice')).toEqual(['room:user:alice']);
    expect(audienceOf('room:other')).toEqual(['room:other']);
  });
});

import { describe, expect, it } from 'vitest';
import { type ComputeBatch, ComputeBatcher, type ComputeBatchShape } from './compute-batching.ts';

const shape = (over: Partial<ComputeBatchShape> = {}): ComputeBatchShape => ({
  podsKey: 'pods-gw',
  service: 'gw',
  persistMs: 1000,
  leaseMs: 0,
  states: ['ready'],
  ...over,
});

/** A sender that answers each uid with `answer:<uid>` and records the batches it was given. */
function recording(answer = (uid: string): unknown => `answer:${uid}`) {
  const batches: ComputeBatch[] = [];
  const send = async (batch: ComputeBatch) => {
    batches.push(batch);
    return batch.calls.map((call) => answer(call.uid));
  };
  return { batches, send };
}

describe('ComputeBatcher', () => {
  it('compute batching - the calls of one turn, also from promise continuations, leave as one batch, each answered with its own entry', async () => {
    const { batches, send } = recording();
    const batcher = new ComputeBatcher(send, 64);
    const answers = Promise.all([
      batcher.add(shape(), 'links-a', 'a'),
      Promise.resolve().then(() => batcher.add(shape(), 'links-b', 'b')),
      batcher.add(shape(), 'links-c', 'c'),
    ]);
    expect(batches, 'nothing leaves before the turn ends').toHaveLength(0);
    expect(await answers).toEqual(['answer:a', 'answer:b', 'answer:c']);
    expect(batches.map((b) => b.calls.map((call) => [call.linksKey, call.uid]))).toEqual([
      [
        ['links-a', 'a'],
        ['links-c', 'c'],
        ['links-b', 'b'],
      ],
    ]);
    expect(await batcher.add(shape(), 'links-d', 'd'), 'a lone call in a later turn goes alone').toBe(
      'answer:d',
    );
    expect(batches).toHaveLength(2);
  });

  it('compute batching - calls of another service, link shape or allowed set go in a batch of their own', async () => {
    const { batches, send } = recording();
    const batcher = new ComputeBatcher(send, 64);
    await Promise.all([
      batcher.add(shape(), 'l1', 'u1'),
      batcher.add(shape({ podsKey: 'pods-other', service: 'other' }), 'l2', 'u2'),
      batcher.add(shape({ persistMs: 0 }), 'l3', 'u3'),
      batcher.add(shape({ leaseMs: 5000 }), 'l4', 'u4'),
      batcher.add(shape({ states: ['ready', 'starting'] }), 'l5', 'u5'),
      batcher.add(shape(), 'l6', 'u6'),
    ]);
    expect(batches.map((b) => b.calls.map((call) => call.uid))).toEqual([
      ['u1', 'u6'],
      ['u2'],
      ['u3'],
      ['u4'],
      ['u5'],
    ]);
    expect(batches[1]).toMatchObject({ podsKey: 'pods-other', service: 'other' });
    expect(batches[4]?.states).toEqual(['ready', 'starting']);
  });

  it('compute batching - a full batch leaves at once; the rest of the turn goes in the next', async () => {
    const { batches, send } = recording();
    const batcher = new ComputeBatcher(send, 3);
    const answers = Promise.all(Array.from({ length: 7 }, (_, i) => batcher.add(shape(), `l${i}`, `u${i}`)));
    expect(
      batches.map((b) => b.calls.length),
      'two full batches left during the turn',
    ).toEqual([3, 3]);
    expect(await answers).toEqual(Array.from({ length: 7 }, (_, i) => `answer:u${i}`));
    expect(batches.map((b) => b.calls.length)).toEqual([3, 3, 1]);
  });

  it('compute batching - a failed send rejects every call of its batch and no other', async () => {
    const failing = new Error('connection lost');
    const batcher = new ComputeBatcher(async (batch) => {
      if (batch.service === 'down') throw failing;
      return batch.calls.map((call) => call.uid);
    }, 64);
    const results = await Promise.allSettled([
      batcher.add(shape({ service: 'down', podsKey: 'pods-down' }), 'l1', 'u1'),
      batcher.add(shape(), 'l2', 'u2'),
      batcher.add(shape({ service: 'down', podsKey: 'pods-down' }), 'l3', 'u3'),
    ]);
    expect(results).toEqual([
      { status: 'rejected', reason: failing },
      { status: 'fulfilled', value: 'u2' },
      { status: 'rejected', reason: failing },
    ]);
  });

  it('compute batching - a sender that throws at once rejects its calls too', async () => {
    const refused = new Error('closed');
    const batcher = new ComputeBatcher(() => {
      throw refused;
    }, 64);
    await expect(batcher.add(shape(), 'l1', 'u1')).rejects.toBe(refused);
  });
});

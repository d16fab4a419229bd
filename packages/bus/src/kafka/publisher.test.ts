import { describe, expect, it } from 'vitest';
import type { EncodedRecord } from './codec.ts';
import { OrderedPublisher } from './publisher.ts';

interface Request {
  keys: string[];
  answer: (outcome: { fail?: Error }) => void;
}

/** A producer whose requests are answered by the test, one at a time, recording what each carried. */
function fakeProducers() {
  const requests: Request[] = [];
  let created = 0;
  const create = () => {
    created++;
    let closed = false;
    return {
      get closed() {
        return closed;
      },
      send(request: { messages: EncodedRecord[] }) {
        return new Promise((resolve, reject) => {
          requests.push({
            keys: request.messages.map((m) => m.key.toString()),
            answer: ({ fail }) =>
              fail
                ? reject(fail)
                : resolve({
                    offsets: [{ topic: 't', partition: 0, offset: BigInt(requests.length * 100) }],
                  }),
          });
        });
      },
      close() {
        closed = true;
        return Promise.resolve();
      },
    };
  };
  return { requests, create, created: () => created };
}

const record = (key: string): EncodedRecord =>
  ({ topic: 't', partition: 0, key: Buffer.from(key), value: Buffer.from('v'), headers: new Map() }) as never;

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('OrderedPublisher', () => {
  it('order - records queued behind a failed request fail with it and are never sent, so none is stored ahead of a retry of the failed one', async () => {
    const producers = fakeProducers();
    const publisher = new OrderedPublisher(producers.create as never, 1_000_000);
    const a = publisher.send(record('a'));
    await tick();
    // b and c wait while a's request is in flight.
    const b = publisher.send(record('b'));
    const c = publisher.send(record('c'));
    expect(producers.requests.map((r) => r.keys)).toEqual([['a']]);
    producers.requests[0]!.answer({ fail: new Error('broker gone') });
    await expect(a).rejects.toThrow('broker gone');
    await expect(b).rejects.toThrow(/not sent: a produce request ahead of it failed \(broker gone\)/);
    await expect(c).rejects.toThrow(/not sent/);
    await tick();
    expect(producers.requests).toHaveLength(1);
    // The retries go out, in order, on a fresh producer.
    const retried = [publisher.send(record('a')), publisher.send(record('b'))];
    await tick();
    expect(producers.created()).toBe(2);
    expect(producers.requests.map((r) => r.keys)).toEqual([['a'], ['a']]);
    producers.requests[1]!.answer({});
    await tick();
    expect(producers.requests.map((r) => r.keys)).toEqual([['a'], ['a'], ['b']]);
    producers.requests[2]!.answer({});
    expect(await Promise.all(retried)).toEqual([200n, 300n]);
  });

  it('batching - records queued behind a stored request leave together in the next one, in order', async () => {
    const producers = fakeProducers();
    const publisher = new OrderedPublisher(producers.create as never, 1_000_000);
    const first = publisher.send(record('1'));
    await tick();
    const later = [publisher.send(record('2')), publisher.send(record('3'))];
    producers.requests[0]!.answer({});
    expect(await first).toBe(100n);
    await tick();
    expect(producers.requests.map((r) => r.keys)).toEqual([['1'], ['2', '3']]);
    producers.requests[1]!.answer({});
    expect(await Promise.all(later)).toEqual([200n, 201n]);
  });
});

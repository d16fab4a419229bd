import { type EventBus, MemoryEventBus, PublishExpectationError } from '@tideline/bus';
import { openTestBus, removeStreams, testBusOptions, uniquePrefix } from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function nats(): Promise<EventBus> {
  const prefix = uniquePrefix('exp');
  const bus = await openTestBus(prefix);
  cleanups.push(async () => {
    await bus.drain();
    await removeStreams(prefix);
  });
  return bus;
}

async function memory(): Promise<EventBus> {
  const bus = new MemoryEventBus(testBusOptions('m'));
  await bus.start();
  cleanups.push(() => bus.drain());
  return bus;
}

describe.each([
  ['nats', nats],
  ['memory', memory],
])('publish expectations (%s)', (_name, open) => {
  it('fencing - a writer that expects a stale subject position is refused by the broker and stores nothing', async () => {
    const bus = await open();
    expect(bus.enforcesExpectations).toBe(true);
    const first = await bus.publish(
      'node.c1.updated',
      { n: 1 },
      { msgId: 'c1:1', expect: { lastSubjectPosition: 0 } },
    );
    // The current owner writes on the subject…
    const second = await bus.publish(
      'node.c1.updated',
      { n: 2 },
      {
        msgId: 'c1:2',
        expect: { lastSubjectPosition: first.position },
      },
    );
    // …and a former owner that still believes the first message is the last is refused.
    await expect(
      bus.publish(
        'node.c1.updated',
        { n: 99 },
        { msgId: 'c1:x', expect: { lastSubjectPosition: first.position } },
      ),
    ).rejects.toBeInstanceOf(PublishExpectationError);
    // Another subject of the topic keeps its own position.
    await bus.publish('node.c2.updated', { n: 1 }, { msgId: 'c2:1', expect: { lastSubjectPosition: 0 } });
    const stored = await bus.read({ topic: 'nodes', from: 1, limit: 10 });
    expect(stored.map((m) => m.msgId)).toEqual(['c1:1', 'c1:2', 'c2:1']);
    expect(second.position).toBeGreaterThan(first.position);
  });

  it('fencing - a writer that expects an empty subject where a message was stored is refused', async () => {
    const bus = await open();
    await bus.publish('node.c1.added', { n: 1 }, { msgId: 'c1:1' });
    await expect(
      bus.publish('node.c1.added', { n: 2 }, { msgId: 'c1:2', expect: { lastSubjectPosition: 0 } }),
    ).rejects.toBeInstanceOf(PublishExpectationError);
    const stored = await bus.read({ topic: 'nodes', from: 1, limit: 10 });
    expect(stored.map((m) => m.msgId)).toEqual(['c1:1']);
  });

  it('ordering - publishes sent without waiting, each expecting the previous msgId: one not stored stops every later one', async () => {
    const bus = await open();
    await bus.publish('website.add', { n: 1 }, { msgId: '1' });
    // 2 expects a msgId the topic does not end with (as if the message before it was lost):
    // refused, and 3, which expects 2, is refused with it although it was sent before 2's answer.
    const sends = [
      bus.publish('website.update', { n: 2 }, { msgId: '2', expect: { lastMsgId: 'lost' } }),
      bus.publish('website.add', { n: 3 }, { msgId: '3', expect: { lastMsgId: '2' } }),
    ];
    const outcomes = await Promise.allSettled(sends);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(PublishExpectationError);
    }
    // The same chain from the topic's real end is stored, in order.
    const stored = await Promise.all([
      bus.publish('website.update', { n: 2 }, { msgId: '2', expect: { lastMsgId: '1' } }),
      bus.publish('website.add', { n: 3 }, { msgId: '3', expect: { lastMsgId: '2' } }),
    ]);
    expect(stored.map((r) => r.duplicate)).toEqual([false, false]);
    // A republished message is answered as a duplicate before its expectation is checked (the
    // topic now ends with 3, not 1), so a chain that starts with what the broker holds goes on.
    const again = await Promise.all([
      bus.publish('website.update', { n: 2 }, { msgId: '2', expect: { lastMsgId: '1' } }),
      bus.publish('website.add', { n: 3 }, { msgId: '3', expect: { lastMsgId: '2' } }),
      bus.publish('website.delete', { n: 4 }, { msgId: '4', expect: { lastMsgId: '3' } }),
    ]);
    expect(again.map((r) => r.duplicate)).toEqual([true, true, false]);
    const messages = await bus.read({ topic: 'websites', from: 1, limit: 10 });
    expect(messages.map((m) => m.msgId)).toEqual(['1', '2', '3', '4']);
  });
});

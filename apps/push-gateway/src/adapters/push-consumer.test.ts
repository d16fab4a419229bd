import { DEAD_LETTER_TOPIC, MemoryEventBus, publishPush } from '@tideline/bus';
import type { PushTarget } from '@tideline/contracts';
import { createLogger } from '@tideline/runtime';
import { eventually } from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { consumePushes } from './push-consumer.ts';

const buses: MemoryEventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.drain()));
});

async function setup(canBroadcast: () => boolean = () => true) {
  const bus = new MemoryEventBus({
    prefix: 't',
    topics: [{ name: 'push', subjects: 'push.>' }],
    maxDeliveries: 5,
    backoff: { initialMs: 20, maxMs: 40 },
    ackWaitMs: 1_000,
    retentionMs: 60_000,
    duplicateWindowMs: 60_000,
  });
  await bus.start();
  buses.push(bus);
  const sent: { target: PushTarget; event: string; data: unknown }[] = [];
  const outcomes: string[] = [];
  await consumePushes({
    bus,
    concurrency: 1,
    logger: createLogger({ service: 'test', level: 'silent' }),
    canBroadcast,
    broadcast: (target, event, data) => sent.push({ target, event, data }),
    onPush: (_kind, outcome) => outcomes.push(outcome),
  });
  return { bus, sent, outcomes };
}

describe('consumePushes', () => {
  it('emits a valid push to its target room', async () => {
    const { bus, sent } = await setup();
    await publishPush(bus, { target: { kind: 'user', uid: 'alice' }, event: 'push:notice', data: { n: 1 } });
    expect(await eventually(() => sent.length === 1, 2_000)).toBe(true);
    expect(sent).toEqual([{ target: { kind: 'user', uid: 'alice' }, event: 'push:notice', data: { n: 1 } }]);
  });

  it('dead-letters a push whose subject does not match its target, or that breaks the contract', async () => {
    const { bus, sent, outcomes } = await setup();
    const message = {
      id: 'x',
      target: { kind: 'user', uid: 'alice' },
      event: 'push:notice',
      data: 1,
      occurredAt: new Date().toISOString(),
    };
    await bus.publish('push.user.mallory', message, { msgId: 'a' });
    await bus.publish('push.user.alice', { ...message, event: 'websites:update' }, { msgId: 'b' });
    expect(
      await eventually(
        async () => (await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 })).length === 2,
        2_000,
      ),
    ).toBe(true);
    expect(sent).toEqual([]);
    expect(outcomes).toEqual(['rejected', 'rejected']);
  });

  it('retries while the room broadcast is unavailable, then emits once', async () => {
    let up = false;
    const { bus, sent, outcomes } = await setup(() => up);
    await publishPush(bus, { target: { kind: 'room', room: 'websites' }, event: 'push:banner', data: 'hi' });
    expect(await eventually(() => outcomes.includes('retried'), 2_000)).toBe(true);
    up = true;
    expect(await eventually(() => sent.length === 1, 2_000)).toBe(true);
  });
});

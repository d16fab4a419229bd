import { type BusMessage, DEAD_LETTER_TOPIC, MemoryEventBus, publishPush } from '@tideline/bus';
import { createLogger } from '@tideline/runtime';
import { eventually } from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { consumePushes, type PushOutcome, pushHandler } from './push-consumer.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const buses: MemoryEventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.drain()));
});

interface Emitted {
  room: string;
  event: string;
  data: unknown;
}

function recorder(recipients = 1) {
  const emitted: Emitted[] = [];
  const outcomes: PushOutcome[] = [];
  return {
    emitted,
    outcomes,
    emit: (room: string, event: string, data: unknown) => {
      emitted.push({ room, event, data });
      return recipients;
    },
    onPush: (_kind: string, outcome: PushOutcome) => void outcomes.push(outcome),
  };
}

async function setup() {
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
  const record = recorder();
  await consumePushes({ bus, instanceId: 'pod-1', concurrency: 1, dedupIds: 100, logger, ...record });
  return { bus, ...record };
}

function delivery(msgId: string, body: object, subject = 'push.user.alice'): BusMessage {
  const data = new TextEncoder().encode(JSON.stringify(body));
  return {
    topic: 'push',
    subject,
    msgId,
    key: subject,
    headers: {},
    data,
    deliveryCount: 1,
    position: 1,
    json: <T>() => JSON.parse(new TextDecoder().decode(data)) as T,
  };
}

const pushBody = (id: string) => ({
  id,
  target: { kind: 'user', uid: 'alice' },
  event: 'push:notice',
  data: { id },
  occurredAt: new Date().toISOString(),
});

describe('consumePushes', () => {
  it('emits a valid push to its target room on this gateway', async () => {
    const { bus, emitted, outcomes } = await setup();
    await publishPush(bus, { target: { kind: 'user', uid: 'alice' }, event: 'push:notice', data: { n: 1 } });
    await publishPush(bus, { target: { kind: 'room', room: 'websites' }, event: 'push:banner', data: 'hi' });
    expect(await eventually(() => emitted.length === 2, 2_000)).toBe(true);
    expect(emitted).toEqual([
      { room: 'user:alice', event: 'push:notice', data: { n: 1 } },
      { room: 'room:websites', event: 'push:banner', data: 'hi' },
    ]);
    expect(outcomes).toEqual(['sent', 'sent']);
  });

  it('dead-letters a push whose subject does not match its target, or that breaks the contract', async () => {
    const { bus, emitted, outcomes } = await setup();
    const message = pushBody('x');
    await bus.publish('push.user.mallory', message, { msgId: 'a' });
    await bus.publish('push.user.alice', { ...message, event: 'websites:update' }, { msgId: 'b' });
    expect(
      await eventually(
        async () => (await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 })).length === 2,
        2_000,
      ),
    ).toBe(true);
    expect(emitted).toEqual([]);
    expect(outcomes).toEqual(['rejected', 'rejected']);
  });
});

describe('pushHandler', () => {
  it('dedup - a redelivered msgId is acked without emitting again', async () => {
    const record = recorder();
    const handle = pushHandler({ dedupIds: 10, logger, ...record });
    expect(await handle(delivery('push:p1', pushBody('p1')))).toBe('ack');
    expect(await handle({ ...delivery('push:p1', pushBody('p1')), deliveryCount: 2 })).toBe('ack');
    expect(record.emitted).toHaveLength(1);
    expect(record.outcomes).toEqual(['sent', 'duplicate']);
  });

  it('dedup - remembers only the last dedupIds msgIds', async () => {
    const record = recorder();
    const handle = pushHandler({ dedupIds: 2, logger, ...record });
    for (const id of ['p1', 'p2', 'p3', 'p1']) await handle(delivery(`push:${id}`, pushBody(id)));
    expect(record.emitted.map((e) => e.data)).toEqual([
      { id: 'p1' },
      { id: 'p2' },
      { id: 'p3' },
      { id: 'p1' },
    ]);
    await handle(delivery('push:p3', pushBody('p3')));
    expect(record.outcomes).toEqual(['sent', 'sent', 'sent', 'sent', 'duplicate']);
  });

  it('counts a valid push without a local socket of its target as no-recipient', async () => {
    const record = recorder(0);
    const handle = pushHandler({ dedupIds: 10, logger, ...record });
    expect(await handle(delivery('push:p1', pushBody('p1')))).toBe('ack');
    expect(record.outcomes).toEqual(['no-recipient']);
  });

  it('rejects a delivery that is not JSON', async () => {
    const record = recorder();
    const handle = pushHandler({ dedupIds: 10, logger, ...record });
    const broken = { ...delivery('push:x', {}), json: () => JSON.parse('{') };
    expect(await handle(broken)).toEqual({ reject: { reason: 'not JSON' } });
    expect(record.outcomes).toEqual(['rejected']);
  });
});

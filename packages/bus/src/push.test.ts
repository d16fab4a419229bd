import { ContractError } from '@tideline/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEventBus } from './memory/memory-bus.ts';
import { publishPush } from './push.ts';
import { eventually } from './testing/wait.ts';
import type { BusMessage } from './types.ts';

const topics = [{ name: 'push', subjects: 'push.>' }];
const buses: MemoryEventBus[] = [];

async function openBus() {
  const bus = new MemoryEventBus({
    prefix: 't',
    topics,
    maxDeliveries: 3,
    backoff: { initialMs: 10, maxMs: 20 },
    ackWaitMs: 1_000,
    retentionMs: 60_000,
    duplicateWindowMs: 60_000,
  });
  await bus.start();
  buses.push(bus);
  return bus;
}

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.drain()));
});

describe('publishPush', () => {
  it('publishes a validated PushMessage on the subject of its target', async () => {
    const bus = await openBus();
    const seen: BusMessage[] = [];
    await bus.subscribe({ topic: 'push', group: 'g', handler: (m) => void seen.push(m) });
    const occurredAt = new Date('2026-01-02T03:04:05.000Z');
    const user = await publishPush(bus, {
      target: { kind: 'user', uid: 'alice' },
      event: 'push:notice',
      data: { text: 'hi' },
      occurredAt,
    });
    await publishPush(bus, {
      target: { kind: 'room', room: 'websites' },
      event: 'push:banner',
      data: 7,
      id: 'b-1',
    });
    expect(await eventually(() => seen.length === 2, 2_000)).toBe(true);
    expect(seen.map((m) => m.subject)).toEqual(['push.user.alice', 'push.room.websites']);
    expect(seen[0]!.json()).toEqual({
      id: user.id,
      target: { kind: 'user', uid: 'alice' },
      event: 'push:notice',
      data: { text: 'hi' },
      occurredAt: '2026-01-02T03:04:05.000Z',
    });
    expect(seen[1]!.json()).toMatchObject({ id: 'b-1', data: 7 });
  });

  it('the same id twice is delivered once', async () => {
    const bus = await openBus();
    const seen: BusMessage[] = [];
    await bus.subscribe({ topic: 'push', group: 'g', handler: (m) => void seen.push(m) });
    const push = { target: { kind: 'user', uid: 'bob' }, event: 'push:x', data: null, id: 'same' } as const;
    expect((await publishPush(bus, push)).duplicate).toBe(false);
    expect((await publishPush(bus, push)).duplicate).toBe(true);
  });

  it('refuses an invalid event name or target and publishes nothing', async () => {
    const bus = await openBus();
    await expect(
      publishPush(bus, {
        target: { kind: 'user', uid: 'alice' },
        event: 'websites:update' as `push:${string}`,
        data: {},
      }),
    ).rejects.toBeInstanceOf(ContractError);
    await expect(
      publishPush(bus, { target: { kind: 'user', uid: 'bad uid with spaces' }, event: 'push:x', data: {} }),
    ).rejects.toThrow(/target\.uid/);
    expect(await bus.read({ topic: 'push', from: 1, limit: 10 })).toEqual([]);
  });
});

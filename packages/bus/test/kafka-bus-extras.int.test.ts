import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/kafka/kafka-bus.ts';
import type { KafkaBusOptions } from '../src/kafka/options.ts';
import { eventually, sleep } from '../src/testing/wait.ts';
import type { BusMessage } from '../src/types.ts';

const brokers = (process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const DELIVERY_TIMEOUT_MS = 10_000;

const opened: KafkaEventBus[] = [];
const prefixes = new Set<string>();

function options(prefix: string, overrides: Partial<KafkaBusOptions> = {}): KafkaBusOptions {
  return {
    prefix,
    topics: [{ name: 'orders', subjects: 'order.>' }],
    maxDeliveries: 3,
    backoff: { initialMs: 50, maxMs: 200 },
    ackWaitMs: 5_000,
    retentionMs: 3_600_000,
    duplicateWindowMs: 60_000,
    brokers,
    clientId: 'extras',
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    fetchMaxWaitMs: 100,
    retryDelayMs: 100,
    ...overrides,
  };
}

async function openBus(prefix: string, overrides: Partial<KafkaBusOptions> = {}): Promise<KafkaEventBus> {
  prefixes.add(prefix);
  const bus = new KafkaEventBus(options(prefix, overrides));
  await bus.start();
  opened.push(bus);
  return bus;
}

const newPrefix = () => `x${randomUUID().replaceAll('-', '').slice(0, 12)}`;

async function withAdmin<T>(body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: 'extras-admin', bootstrapBrokers: brokers });
  try {
    return await body(admin);
  } finally {
    await admin.close();
  }
}

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((bus) => bus.drain()));
  const mine = [...prefixes];
  prefixes.clear();
  await withAdmin(async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => mine.some((p) => t.startsWith(`${p}_`)));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = [...(await admin.listGroups()).keys()].filter((g) =>
      mine.some((p) => g.startsWith(`${p}_`)),
    );
    if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
  });
});

describe('Kafka bus: Kafka-specific guarantees', () => {
  it('publish - concurrent publishes all resolve, and each is stored once at its position, in call order', async () => {
    // The bare client's idempotent producer loses records when sends overlap; the bus must not.
    const bus = await openBus(newPrefix());
    const count = 2_000;
    const receipts = await Promise.all(
      Array.from({ length: count }, (_, i) => bus.publish('order.created', { i }, { msgId: `c${i}` })),
    );
    expect(receipts.map((r) => r.position)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const stored = await bus.read({ topic: 'orders', from: 1, limit: count + 10 });
    expect(stored.map((m) => m.msgId)).toEqual(Array.from({ length: count }, (_, i) => `c${i}`));
  });

  it('order - a produce request the broker refuses fails the publishes queued behind it, unsent; the next publish is stored', async () => {
    // A topic whose records may be at most 2 KiB: the broker itself refuses a bigger one.
    const prefix = newPrefix();
    prefixes.add(prefix);
    await withAdmin((admin) =>
      admin.createTopics({
        topics: [`${prefix}_orders`],
        partitions: 1,
        replicas: 1,
        configs: [{ name: 'max.message.bytes', value: '2048' }],
      }),
    );
    const bus = await openBus(prefix);
    // One key: the three must be stored in call order or not at all. The first goes out alone; the
    // other two are queued (one request in flight) when the broker's refusal of the first arrives.
    const publish = (n: number, bytes: number) =>
      bus.publish('order.created', { n, pad: 'x'.repeat(bytes) }, { msgId: `o${n}`, key: 'customer-1' });
    const outcomes = await Promise.allSettled([publish(1, 8_192), publish(2, 10), publish(3, 10)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const reasons = outcomes.map((o) => String((o as PromiseRejectedResult).reason));
    expect(reasons[1]).toMatch(/not sent: a produce request ahead of it failed/);
    expect(reasons[2]).toMatch(/not sent: a produce request ahead of it failed/);
    expect(await bus.read({ topic: 'orders', from: 1, limit: 10 })).toEqual([]);

    // The publisher goes on with a new producer: a retry of the small ones is stored, in order.
    expect((await publish(2, 10)).position).toBe(1);
    expect((await publish(3, 10)).position).toBe(2);
    const stored = await bus.read({ topic: 'orders', from: 1, limit: 10 });
    expect(stored.map((m) => m.msgId)).toEqual(['o2', 'o3']);
  });

  it('ephemeral - a stopped ephemeral group leaves no group behind on the broker', async () => {
    const prefix = newPrefix();
    const bus = await openBus(prefix);
    const seen: string[] = [];
    const sub = await bus.subscribe({
      topic: 'orders',
      group: 'gateway-1',
      ephemeral: true,
      startAt: 'new',
      handler: (m) => void seen.push(m.msgId),
    });
    await bus.publish('order.created', {}, { msgId: 'e1' });
    expect(await eventually(() => seen.length === 1, DELIVERY_TIMEOUT_MS)).toBe(true);
    const groupsOf = () => withAdmin(async (admin) => [...(await admin.listGroups()).keys()]);
    expect(await groupsOf()).toContain(`${prefix}_gateway-1`);
    await sub.stop();
    expect(await groupsOf()).not.toContain(`${prefix}_gateway-1`);
  });

  it('dedup - the same msgId published by two bus instances reaches a group once', async () => {
    const prefix = newPrefix();
    const first = await openBus(prefix);
    const second = await openBus(prefix);
    const seen: BusMessage[] = [];
    await first.subscribe({ topic: 'orders', group: 'g', handler: (m) => void seen.push(m) });
    const a = await first.publish('order.created', { v: 1 }, { msgId: 'same' });
    // Kafka itself does not deduplicate by id: the second instance stores a second copy and says so.
    const b = await second.publish('order.created', { v: 1 }, { msgId: 'same' });
    await first.publish('order.created', { v: 2 }, { msgId: 'next' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(false);
    expect(b.position).toBeGreaterThan(a.position);
    expect(await eventually(() => seen.some((m) => m.msgId === 'next'), DELIVERY_TIMEOUT_MS)).toBe(true);
    await sleep(200);
    expect(seen.map((m) => m.msgId)).toEqual(['same', 'next']);
    expect((await first.read({ topic: 'orders', from: 1, limit: 10 })).map((m) => m.msgId)).toEqual([
      'same',
      'same',
      'next',
    ]);
  });

  it('partitions - a queue group in two processes shares the partitions; each key keeps its order', async () => {
    const prefix = newPrefix();
    const producer = await openBus(prefix, { partitions: 2 });
    const one = await openBus(prefix, { partitions: 2 });
    const two = await openBus(prefix, { partitions: 2 });
    const seenBy = { one: [] as BusMessage[], two: [] as BusMessage[] };
    await one.subscribe({ topic: 'orders', group: 'workers', handler: (m) => void seenBy.one.push(m) });
    await two.subscribe({ topic: 'orders', group: 'workers', handler: (m) => void seenBy.two.push(m) });
    // Both members are in the group once each owns one partition; until then one owns both.
    expect(
      await eventually(async () => {
        const described = await withAdmin((admin) => admin.describeGroups({ groups: [`${prefix}_workers`] }));
        const group = described.get(`${prefix}_workers`);
        return group?.state === 'Stable' && group.members.size === 2;
      }, DELIVERY_TIMEOUT_MS * 2),
    ).toBe(true);
    const keys = Array.from({ length: 8 }, (_, k) => `key-${k}`);
    const perKey = 10;
    for (let i = 0; i < perKey; i++) {
      for (const key of keys)
        await producer.publish('order.created', { key, i }, { msgId: `${key}-${i}`, key });
    }
    const total = keys.length * perKey;
    const all = () => [...seenBy.one, ...seenBy.two];
    expect(
      await eventually(() => new Set(all().map((m) => m.msgId)).size === total, DELIVERY_TIMEOUT_MS * 2),
    ).toBe(true);
    expect(seenBy.one.length).toBeGreaterThan(0);
    expect(seenBy.two.length).toBeGreaterThan(0);
    for (const key of keys) {
      const order = [
        ...new Set(
          all()
            .filter((m) => m.key === key)
            .map((m) => m.json<{ i: number }>().i),
        ),
      ];
      expect(order, key).toEqual(Array.from({ length: perKey }, (_, i) => i));
      const holders = [seenBy.one, seenBy.two].filter((seen) => seen.some((m) => m.key === key));
      expect(holders, `${key} is consumed by one member`).toHaveLength(1);
    }
    await expect(producer.read({ topic: 'orders', from: 1, limit: 10 })).rejects.toThrow(/single-partition/);
  }, 60_000);
});

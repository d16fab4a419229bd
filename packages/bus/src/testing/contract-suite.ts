import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BusStateError, UnknownTopicError } from '../errors.ts';
import {
  type BusMessage,
  type BusOptions,
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_TOPIC,
  type EventBus,
} from '../types.ts';
import { eventually, sleep } from './wait.ts';

export interface BusContractTarget {
  /** Name shown in test titles: `memory`, `nats`, `kafka`. */
  name: string;
  create(options: BusOptions): EventBus;
  /** Removes what a test's prefix left on the broker. */
  destroy?(options: BusOptions): Promise<void>;
  /** Upper bound for one message to travel publish → handler on this broker. */
  deliveryTimeoutMs?: number;
}

const TOPICS = [
  { name: 'orders', subjects: 'order.>' },
  { name: 'audit', subjects: 'audit.>' },
];

/**
 * The behaviour every EventBus must show. Each test gets its own prefix, so streams/topics and
 * groups never meet between tests or runs, and its buses are drained and destroyed afterwards.
 */
export function busContractSuite(target: BusContractTarget): void {
  const timeout = target.deliveryTimeoutMs ?? 5_000;
  const opened: { bus: EventBus; options: BusOptions }[] = [];

  function optionsFor(prefix: string, overrides: Partial<BusOptions> = {}): BusOptions {
    return {
      prefix,
      topics: TOPICS,
      maxDeliveries: 3,
      backoff: { initialMs: 100, maxMs: 400 },
      ackWaitMs: 5_000,
      retentionMs: 3_600_000,
      duplicateWindowMs: 60_000,
      ...overrides,
    };
  }

  async function openBus(overrides: Partial<BusOptions> & { prefix?: string } = {}) {
    const prefix = overrides.prefix ?? `c${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const options = optionsFor(prefix, overrides);
    const bus = target.create(options);
    await bus.start();
    opened.push({ bus, options });
    return { bus, prefix, options };
  }

  function recorder() {
    const seen: BusMessage[] = [];
    return { seen, handler: (m: BusMessage) => void seen.push(m) };
  }

  afterEach(async () => {
    const toClose = opened.splice(0);
    await Promise.all(toClose.map(({ bus }) => bus.drain()));
    if (target.destroy) {
      const prefixes = new Map(toClose.map(({ options }) => [options.prefix, options]));
      for (const options of prefixes.values()) await target.destroy(options);
    }
  });

  describe(`EventBus contract: ${target.name}`, () => {
    it('publish - delivers subject, payload, msgId, key and headers, with increasing positions', async () => {
      const { bus } = await openBus();
      const { seen, handler } = recorder();
      await bus.subscribe({ topic: 'orders', group: 'g', handler });
      const first = await bus.publish(
        'order.created',
        { n: 1 },
        { msgId: 'a', key: 'k1', headers: { 'x-trace': 't1' } },
      );
      const second = await bus.publish('order.created', { n: 2 }, { msgId: 'b' });
      expect(first).toMatchObject({ topic: 'orders', duplicate: false });
      expect(second.position).toBeGreaterThan(first.position);
      expect(await eventually(() => seen.length === 2, timeout)).toBe(true);
      expect(seen[0]).toMatchObject({
        topic: 'orders',
        subject: 'order.created',
        msgId: 'a',
        key: 'k1',
        deliveryCount: 1,
        position: first.position,
      });
      expect(seen[0]!.headers['x-trace']).toBe('t1');
      expect(seen[0]!.json()).toEqual({ n: 1 });
      expect(seen[1]!.json()).toEqual({ n: 2 });
    });

    it('publish - the same msgId twice is stored and delivered once', async () => {
      const { bus } = await openBus();
      const { seen, handler } = recorder();
      await bus.subscribe({ topic: 'orders', group: 'g', handler });
      const first = await bus.publish('order.created', { v: 1 }, { msgId: 'dup-1' });
      const again = await bus.publish('order.created', { v: 1 }, { msgId: 'dup-1' });
      await bus.publish('order.created', { v: 2 }, { msgId: 'after' });
      expect(first.duplicate).toBe(false);
      expect(again.duplicate).toBe(true);
      expect(await eventually(() => seen.some((m) => m.msgId === 'after'), timeout)).toBe(true);
      await sleep(200);
      expect(seen.map((m) => m.msgId)).toEqual(['dup-1', 'after']);
    });

    it('publish - a subject of no topic is refused', async () => {
      const { bus } = await openBus();
      await expect(bus.publish('nowhere.x', {}, { msgId: '1' })).rejects.toBeInstanceOf(UnknownTopicError);
      await expect(bus.publish('order..x', {}, { msgId: '1' })).rejects.toBeInstanceOf(UnknownTopicError);
    });

    it('queue group - two subscribers of one group share the messages, each message to one', async () => {
      const { bus } = await openBus();
      const a = recorder();
      const b = recorder();
      const slow = (r: ReturnType<typeof recorder>) => async (m: BusMessage) => {
        r.handler(m);
        await sleep(10);
      };
      await bus.subscribe({ topic: 'orders', group: 'workers', concurrency: 4, handler: slow(a) });
      await bus.subscribe({ topic: 'orders', group: 'workers', concurrency: 4, handler: slow(b) });
      const count = 40;
      for (let i = 0; i < count; i++) await bus.publish('order.created', { i }, { msgId: `q${i}` });
      expect(await eventually(() => a.seen.length + b.seen.length >= count, timeout * 2)).toBe(true);
      await sleep(200);
      const ids = [...a.seen, ...b.seen].map((m) => m.msgId);
      expect(ids).toHaveLength(count);
      expect(new Set(ids).size).toBe(count);
      expect(a.seen.length).toBeGreaterThan(0);
      expect(b.seen.length).toBeGreaterThan(0);
    });

    it('groups - each group receives every message', async () => {
      const { bus } = await openBus();
      const a = recorder();
      const b = recorder();
      await bus.subscribe({ topic: 'orders', group: 'one', handler: a.handler });
      await bus.subscribe({ topic: 'orders', group: 'two', handler: b.handler });
      for (let i = 0; i < 5; i++) await bus.publish('order.created', { i }, { msgId: `m${i}` });
      expect(await eventually(() => a.seen.length === 5 && b.seen.length === 5, timeout)).toBe(true);
    });

    it('groups - a durable group resumes where it stopped, also across a new bus', async () => {
      const { bus, prefix } = await openBus();
      const first = recorder();
      const sub = await bus.subscribe({ topic: 'orders', group: 'durable', handler: first.handler });
      await bus.publish('order.created', { i: 1 }, { msgId: 'd1' });
      expect(await eventually(() => first.seen.length === 1, timeout)).toBe(true);
      await sub.stop();
      await bus.publish('order.created', { i: 2 }, { msgId: 'd2' });
      const { bus: other } = await openBus({ prefix });
      const second = recorder();
      await other.subscribe({ topic: 'orders', group: 'durable', handler: second.handler });
      expect(await eventually(() => second.seen.length === 1, timeout)).toBe(true);
      await sleep(200);
      expect(second.seen.map((m) => m.msgId)).toEqual(['d2']);
    });

    it("groups - startAt 'new' skips what was published before the group existed", async () => {
      const { bus } = await openBus();
      await bus.publish('order.created', {}, { msgId: 'old' });
      const { seen, handler } = recorder();
      await bus.subscribe({ topic: 'orders', group: 'late', startAt: 'new', handler });
      await bus.publish('order.created', {}, { msgId: 'new' });
      expect(await eventually(() => seen.length >= 1, timeout)).toBe(true);
      await sleep(200);
      expect(seen.map((m) => m.msgId)).toEqual(['new']);
    });

    it('groups - subject filters deliver only matching subjects', async () => {
      const { bus } = await openBus();
      const { seen, handler } = recorder();
      await bus.subscribe({ topic: 'orders', group: 'only-paid', subjects: ['order.paid'], handler });
      await bus.publish('order.created', {}, { msgId: 'c' });
      await bus.publish('order.paid', {}, { msgId: 'p' });
      expect(await eventually(() => seen.length >= 1, timeout)).toBe(true);
      await sleep(200);
      expect(seen.map((m) => m.subject)).toEqual(['order.paid']);
    });

    it('redelivery - a retried message comes back after the backoff with a higher deliveryCount', async () => {
      const { bus } = await openBus({ backoff: { initialMs: 150, maxMs: 1_000 } });
      const deliveries: { count: number; at: number }[] = [];
      await bus.subscribe({
        topic: 'orders',
        group: 'g',
        handler: (m) => {
          deliveries.push({ count: m.deliveryCount, at: performance.now() });
          return m.deliveryCount < 3 ? 'retry' : 'ack';
        },
      });
      await bus.publish('order.created', {}, { msgId: 'r1' });
      expect(await eventually(() => deliveries.length === 3, timeout * 2)).toBe(true);
      await sleep(300);
      expect(deliveries.map((d) => d.count)).toEqual([1, 2, 3]);
      // Exponential backoff with equal jitter: ≥75 ms (half of 150) before the 2nd delivery, ≥150 ms
      // (half of 300) before the 3rd; never a hot loop.
      expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(70);
      expect(deliveries[2]!.at - deliveries[1]!.at).toBeGreaterThanOrEqual(140);
    });

    it('redelivery - a throwing handler is retried like a retry outcome', async () => {
      const { bus } = await openBus();
      const counts: number[] = [];
      await bus.subscribe({
        topic: 'orders',
        group: 'g',
        handler: (m) => {
          counts.push(m.deliveryCount);
          if (m.deliveryCount === 1) throw new Error('transient');
        },
      });
      await bus.publish('order.created', {}, { msgId: 't1' });
      expect(await eventually(() => counts.length === 2, timeout)).toBe(true);
      expect(counts).toEqual([1, 2]);
    });

    it('dead-letter - after the maximum deliveries the message moves to the dead-letter topic', async () => {
      const { bus } = await openBus({ maxDeliveries: 3, backoff: { initialMs: 50, maxMs: 100 } });
      let calls = 0;
      await bus.subscribe({
        topic: 'orders',
        group: 'fails',
        handler: () => {
          calls++;
          throw new Error('always');
        },
      });
      await bus.publish('order.created', { doomed: true }, { msgId: 'dl1', key: 'k' });
      const found = async () =>
        (await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 })).length === 1;
      expect(await eventually(found, timeout * 2, 50)).toBe(true);
      await sleep(300);
      expect(calls).toBe(3);
      const [dead] = await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 });
      expect(dead!.json()).toEqual({ doomed: true });
      expect(dead!.headers[DEAD_LETTER_HEADERS.topic]).toBe('orders');
      expect(dead!.headers[DEAD_LETTER_HEADERS.subject]).toBe('order.created');
      expect(dead!.headers[DEAD_LETTER_HEADERS.group]).toBe('fails');
      expect(dead!.headers[DEAD_LETTER_HEADERS.deliveries]).toBe('3');
      expect(dead!.headers[DEAD_LETTER_HEADERS.reason]).toMatch(/^max-deliveries/);
    });

    it('dead-letter - a rejected message is dead-lettered at once and the next one flows', async () => {
      const { bus } = await openBus();
      const { seen, handler } = recorder();
      await bus.subscribe({
        topic: 'orders',
        group: 'strict',
        handler: (m) => {
          handler(m);
          return m.msgId === 'bad' ? { reject: { reason: 'schema' } } : 'ack';
        },
      });
      await bus.publish('order.created', {}, { msgId: 'bad' });
      await bus.publish('order.created', {}, { msgId: 'good' });
      expect(await eventually(() => seen.length === 2, timeout)).toBe(true);
      const dead = await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 });
      expect(dead).toHaveLength(1);
      expect(dead[0]!.headers[DEAD_LETTER_HEADERS.reason]).toBe('rejected: schema');
      expect(seen.map((m) => [m.msgId, m.deliveryCount])).toEqual([
        ['bad', 1],
        ['good', 1],
      ]);
    });

    it('replay - reads from a position, in order, bounded by the limit', async () => {
      const { bus } = await openBus();
      const receipts = [];
      for (let i = 1; i <= 10; i++)
        receipts.push(await bus.publish(i % 2 ? 'order.created' : 'order.paid', { i }, { msgId: `p${i}` }));
      const from = receipts[3]!.position;
      const page = await bus.read({ topic: 'orders', from, limit: 3 });
      expect(page.map((m) => m.json<{ i: number }>().i)).toEqual([4, 5, 6]);
      expect(page.map((m) => m.position)).toEqual([
        receipts[3]!.position,
        receipts[4]!.position,
        receipts[5]!.position,
      ]);
      const rest = await bus.read({ topic: 'orders', from: receipts[8]!.position, limit: 100 });
      expect(rest.map((m) => m.msgId)).toEqual(['p9', 'p10']);
      expect(await bus.read({ topic: 'orders', from: receipts[9]!.position + 1, limit: 10 })).toEqual([]);
      const paid = await bus.read({ topic: 'orders', from: 1, limit: 100, subjects: ['order.paid'] });
      expect(paid.map((m) => m.msgId)).toEqual(['p2', 'p4', 'p6', 'p8', 'p10']);
      expect(await bus.read({ topic: 'audit', from: 1, limit: 10 })).toEqual([]);
    });

    it('ordering - one subscriber at concurrency 1 sees each subject in publish order, across retries', async () => {
      const { bus } = await openBus({ backoff: { initialMs: 30, maxMs: 60 } });
      const seen: string[] = [];
      let retried = false;
      await bus.subscribe({
        topic: 'orders',
        group: 'ordered',
        handler: async (m) => {
          if (m.msgId === 'a-10' && !retried) {
            retried = true;
            return 'retry';
          }
          await sleep(Math.random() * 3);
          seen.push(m.msgId);
          return 'ack';
        },
      });
      const expected: string[] = [];
      for (let i = 0; i < 30; i++) {
        for (const s of ['a', 'b']) {
          await bus.publish(`order.${s}`, { i }, { msgId: `${s}-${i}`, key: s });
          expected.push(`${s}-${i}`);
        }
      }
      expect(await eventually(() => seen.length === expected.length, timeout * 3)).toBe(true);
      expect(retried).toBe(true);
      expect(seen).toEqual(expected);
    });

    it('ordering - with a large prefetch, retries still keep publish order', async () => {
      const { bus } = await openBus({ prefetch: 64, backoff: { initialMs: 50, maxMs: 100 } });
      const seen: string[] = [];
      const failures = new Map<string, number>([
        ['o-3', 2],
        ['o-17', 1],
      ]);
      await bus.subscribe({
        topic: 'orders',
        group: 'prefetching',
        handler: (m) => {
          const left = failures.get(m.msgId) ?? 0;
          if (left > 0) {
            failures.set(m.msgId, left - 1);
            return 'retry';
          }
          seen.push(`${m.msgId}@${m.deliveryCount}`);
          return 'ack';
        },
      });
      const ids = Array.from({ length: 40 }, (_, i) => `o-${i}`);
      for (const id of ids) await bus.publish('order.created', {}, { msgId: id });
      expect(await eventually(() => seen.length === ids.length, timeout * 3)).toBe(true);
      expect(seen.map((s) => s.split('@')[0])).toEqual(ids);
      expect(seen[3]).toBe('o-3@3');
      expect(seen[17]).toBe('o-17@2');
    });

    it('drain - finishes in-flight handlers; nothing acked comes back, nothing unacked is lost', async () => {
      const { bus, prefix } = await openBus();
      const handled: string[] = [];
      let started = 0;
      await bus.subscribe({
        topic: 'orders',
        group: 'drainers',
        handler: async (m) => {
          started++;
          await sleep(100);
          // A handler still running during the drain may publish its follow-up event.
          await bus.publish('audit.handled', { of: m.msgId }, { msgId: `audit-${m.msgId}` });
          handled.push(m.msgId);
        },
      });
      const ids = Array.from({ length: 8 }, (_, i) => `dr${i}`);
      for (const id of ids) await bus.publish('order.created', {}, { msgId: id });
      expect(await eventually(() => started >= 2, timeout)).toBe(true);
      await bus.drain();
      const handledBeforeDrain = [...handled];
      expect(handledBeforeDrain.length).toBeGreaterThanOrEqual(2);
      // Every handler that started before drain finished (drain waited for it).
      expect(handledBeforeDrain.length).toBe(started);
      await expect(bus.publish('order.created', {}, { msgId: 'late' })).rejects.toBeInstanceOf(BusStateError);

      const { bus: next } = await openBus({ prefix, ackWaitMs: 1_000 });
      const after: string[] = [];
      await next.subscribe({ topic: 'orders', group: 'drainers', handler: (m) => void after.push(m.msgId) });
      expect(
        await eventually(() => handledBeforeDrain.length + after.length >= ids.length, timeout * 2),
      ).toBe(true);
      await sleep(300);
      expect(after.filter((id) => handledBeforeDrain.includes(id))).toEqual([]);
      expect([...handledBeforeDrain, ...after].sort()).toEqual([...ids].sort());
      const audits = await next.read({ topic: 'audit', from: 1, limit: 100 });
      expect(audits.map((m) => m.json<{ of: string }>().of).sort()).toEqual([...handledBeforeDrain].sort());
    });
  });
}

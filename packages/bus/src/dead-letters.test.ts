import { describe, expect, it } from 'vitest';
import { listDeadLetters, REDRIVEN_FROM_HEADER, redriveDeadLetters } from './dead-letters.ts';
import { MemoryEventBus } from './memory/memory-bus.ts';
import { eventually } from './testing/wait.ts';
import { DEAD_LETTER_TOPIC } from './types.ts';

const PAGE_SIZE = 10;
const WAIT_MS = 2_000;

async function busWithDeadLetters(duplicateWindowMs: number) {
  const bus = new MemoryEventBus({
    prefix: 'dl',
    topics: [{ name: 'orders', subjects: 'order.>' }],
    maxDeliveries: 1,
    backoff: { initialMs: 1, maxMs: 1 },
    ackWaitMs: 1_000,
    retentionMs: 60_000,
    duplicateWindowMs,
  });
  await bus.start();
  const handled: string[] = [];
  let accepting = false;
  await bus.subscribe({
    topic: 'orders',
    group: 'billing',
    handler: (m) => {
      if (!accepting) return 'reject';
      handled.push(m.msgId);
    },
  });
  await bus.publish('order.created', { n: 1 }, { msgId: 'a', key: 'k1', headers: { trace: 't-a' } });
  await bus.publish('order.paid', { n: 2 }, { msgId: 'b' });
  const publishedAt = Date.now();
  const dead = async () => (await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 })).length === 2;
  if (!(await eventually(dead, WAIT_MS))) throw new Error('no dead letters');
  return { bus, handled, accept: () => (accepting = true), publishedAt };
}

describe('dead letters', () => {
  it('list - a dead letter names its topic, subject, group, reason, msgId, key and own headers', async () => {
    const { bus } = await busWithDeadLetters(1);
    const letters = await listDeadLetters(bus, { pageSize: PAGE_SIZE });
    expect(letters.map((l) => [l.subject, l.group, l.reason, l.msgId, l.key, l.redriven])).toEqual([
      ['order.created', 'billing', 'rejected', 'a', 'k1', false],
      ['order.paid', 'billing', 'rejected', 'b', undefined, false],
    ]);
    expect(letters[0]!.headers).toEqual({ trace: 't-a' });
    expect(letters[0]!.deadLetteredAt).toBeInstanceOf(Date);
    await bus.drain();
  });

  it('redrive - --subject and --id select; a dry run publishes and marks nothing', async () => {
    const { bus } = await busWithDeadLetters(1);
    const [first] = await listDeadLetters(bus, { pageSize: PAGE_SIZE });
    const dry = await redriveDeadLetters(bus, {
      pageSize: PAGE_SIZE,
      dryRun: true,
      subjects: ['order.paid'],
    });
    expect(dry).toMatchObject({ selected: 1, redriven: 1, held: 0, skipped: 0, dryRun: true });
    const byId = await redriveDeadLetters(bus, { pageSize: PAGE_SIZE, dryRun: true, ids: [first!.id] });
    expect(byId.selected).toBe(1);
    expect(await bus.read({ topic: 'orders', from: 1, limit: 10 })).toHaveLength(2);
    expect((await listDeadLetters(bus, { pageSize: PAGE_SIZE })).every((l) => !l.redriven)).toBe(true);
    await bus.drain();
  });

  it('redrive - inside the duplicate window the broker drops the copy: held, unmarked, redriven later', async () => {
    const { bus } = await busWithDeadLetters(60_000);
    const held = await redriveDeadLetters(bus, { pageSize: PAGE_SIZE });
    expect(held).toMatchObject({ selected: 2, redriven: 0, held: 2 });
    expect((await listDeadLetters(bus, { pageSize: PAGE_SIZE })).every((l) => !l.redriven)).toBe(true);
    await bus.drain();
  });

  it('redrive - republishes with the msgId, key and headers, marks it, and a second redrive skips it', async () => {
    const { bus, handled, accept, publishedAt } = await busWithDeadLetters(1);
    accept();
    // Past the duplicate window (1 ms) of the original publishes.
    expect(await eventually(() => Date.now() > publishedAt + 1, WAIT_MS)).toBe(true);
    const seen: string[] = [];
    const result = await redriveDeadLetters(bus, {
      pageSize: PAGE_SIZE,
      subjects: ['order.created'],
      onProgress: (p) => seen.push(`${p.outcome} ${p.done}/${p.total}`),
    });
    expect(result).toMatchObject({ selected: 1, redriven: 1, held: 0, skipped: 0 });
    expect(seen).toEqual(['redriven 1/1']);
    expect(await eventually(() => handled.includes('a'), WAIT_MS)).toBe(true);
    const [copy] = (await bus.read({ topic: 'orders', from: 3, limit: 10 })) ?? [];
    expect(copy).toMatchObject({ msgId: 'a', key: 'k1', subject: 'order.created' });
    expect(copy!.headers).toMatchObject({ trace: 't-a', [REDRIVEN_FROM_HEADER]: expect.any(String) });
    const letters = await listDeadLetters(bus, { pageSize: PAGE_SIZE });
    expect(letters.map((l) => [l.msgId, l.redriven])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    const again = await redriveDeadLetters(bus, { pageSize: PAGE_SIZE, subjects: ['order.created'] });
    expect(again).toMatchObject({ selected: 1, redriven: 0, skipped: 1 });
    expect(await bus.read({ topic: 'orders', from: 4, limit: 10 })).toHaveLength(0);
    await bus.drain();
  });
});

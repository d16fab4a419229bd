import { describe, expect, it } from 'vitest';
import { DecodedMessage } from './base.ts';
import {
  DeadLetterIndex,
  listDeadLetters,
  type PageOptions,
  pageOfDeadLetters,
  REDRIVEN_FROM_HEADER,
  REDRIVEN_HEADER,
  REDRIVEN_SUBJECT,
  redriveDeadLetters,
} from './dead-letters.ts';
import { MemoryEventBus } from './memory/memory-bus.ts';
import { subjectMatches } from './subjects.ts';
import { eventually } from './testing/wait.ts';
import { type BusMessage, DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, type ReadOptions } from './types.ts';

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

/**
 * The dead-letter topic as an array, read as the port says: from a position (a position before
 * the oldest retained message starts at the oldest), in order, at most `limit`, of `subjects`
 * only when given. It counts the messages it answers.
 */
class DeadLetterTopic {
  private messages: BusMessage[] = [];
  private nextPosition = 1;
  /** Messages answered by `read` so far. */
  answered = 0;

  private append(subject: string, msgId: string, headers: Record<string, string>): number {
    const position = this.nextPosition++;
    this.messages.push(
      new DecodedMessage(
        DEAD_LETTER_TOPIC,
        subject,
        msgId,
        undefined,
        headers,
        new Uint8Array(),
        1,
        position,
      ),
    );
    return position;
  }

  letter(n: number): number {
    return this.append('dead-letter.orders', `billing:${n}:evt-${n}`, {
      [DEAD_LETTER_HEADERS.topic]: 'orders',
      [DEAD_LETTER_HEADERS.subject]: 'order.created',
      [DEAD_LETTER_HEADERS.group]: 'billing',
      [DEAD_LETTER_HEADERS.reason]: 'rejected',
      [DEAD_LETTER_HEADERS.msgId]: `evt-${n}`,
    });
  }

  mark(id: number): number {
    return this.append(REDRIVEN_SUBJECT, `redriven:${id}`, { [REDRIVEN_HEADER]: String(id) });
  }

  /** The broker drops every message before `position` (retention by age). */
  expireBefore(position: number): void {
    this.messages = this.messages.filter((m) => m.position >= position);
  }

  /** The topic is deleted and created again: positions start at 1. */
  recreate(): void {
    this.messages = [];
    this.nextPosition = 1;
  }

  async read(options: ReadOptions): Promise<BusMessage[]> {
    const page = this.messages
      .filter(
        (m) =>
          m.position >= options.from &&
          (!options.subjects || options.subjects.some((s) => subjectMatches(s, m.subject))),
      )
      .slice(0, options.limit);
    this.answered += page.length;
    return page;
  }
}

describe('dead-letter index', () => {
  const view = (page: Awaited<ReturnType<DeadLetterIndex['page']>>) => ({
    ids: page.letters.map((l) => l.id),
    redriven: page.letters.filter((l) => l.redriven).map((l) => l.id),
    total: page.total,
    next: page.next,
  });

  it('a page after the first reads what the topic gained and the page, not the whole topic', async () => {
    const topic = new DeadLetterTopic();
    const ids: number[] = [];
    for (let n = 1; n <= 500; n++) ids.push(topic.letter(n));
    const index = new DeadLetterIndex(topic, { pageSize: 50 });

    expect(view(await index.page({ order: 'newest', limit: 10 }))).toEqual({
      ids: ids.slice(490).reverse(),
      redriven: [],
      total: 500,
      next: ids[490],
    });
    // The first page read the topic once, then its ten letters.
    expect(topic.answered).toBe(500 + 1 + 10);

    topic.answered = 0;
    expect(view(await index.page({ order: 'newest', limit: 10 })).total).toBe(500);
    // The last message read (to know the topic again), where the topic starts, the page.
    expect(topic.answered).toBe(1 + 1 + 10);

    // Three new letters and a redrive of one on the page and of one far back.
    for (let n = 501; n <= 503; n++) ids.push(topic.letter(n));
    topic.mark(ids[495]!);
    topic.mark(ids[3]!);
    topic.answered = 0;
    expect(view(await index.page({ order: 'newest', limit: 10 }))).toEqual({
      ids: ids.slice(493).reverse(),
      redriven: [ids[495]],
      total: 503,
      next: ids[493],
    });
    expect(topic.answered).toBe(1 + 5 + 1 + 10);
    topic.answered = 0;
    expect(view(await index.page({ after: ids[1]!, limit: 3 }))).toEqual({
      ids: ids.slice(2, 5),
      redriven: [ids[3]],
      total: 503,
      next: ids[4],
    });
    expect(topic.answered).toBe(1 + 1 + 3);
  });

  it('every page equals the one a single read of the whole topic gives', async () => {
    const topic = new DeadLetterTopic();
    const ids: number[] = [];
    for (let n = 1; n <= 30; n++) {
      ids.push(topic.letter(n));
      if (n % 7 === 0) topic.mark(ids[n - 3]!);
    }
    const index = new DeadLetterIndex(topic, { pageSize: 4 });
    const cases: PageOptions[] = [
      { limit: 5 },
      { limit: 100 },
      { limit: 5, after: ids[27]! },
      { limit: 5, after: ids[29]! },
      { limit: 1, after: ids[10]! - 1 },
      { limit: 5, order: 'newest' },
      { limit: 100, order: 'newest' },
      { limit: 5, order: 'newest', before: ids[2]! },
      { limit: 5, order: 'newest', before: ids[0]! },
      { limit: 3, order: 'newest', before: ids[12]! + 1 },
    ];
    for (const options of cases) {
      const once = await pageOfDeadLetters(topic, { pageSize: 4, ...options });
      expect(view(await index.page(options)), JSON.stringify(options)).toEqual(view(once));
      const listed = new Map((await listDeadLetters(topic, { pageSize: 4 })).map((l) => [l.id, l.msgId]));
      expect(once.letters.map((l) => l.msgId)).toEqual(once.letters.map((l) => listed.get(l.id)));
    }
    expect(view(await index.page({ limit: 2 }))).toEqual({
      ids: [ids[0], ids[1]],
      redriven: [],
      total: 30,
      next: ids[1],
    });
  });

  it('dead letters the broker expired leave the total and the pages, and so do their redrive marks', async () => {
    const topic = new DeadLetterTopic();
    const ids: number[] = [];
    for (let n = 1; n <= 10; n++) ids.push(topic.letter(n));
    topic.mark(ids[1]!);
    topic.mark(ids[6]!);
    const index = new DeadLetterIndex(topic, { pageSize: 3 });
    expect(view(await index.page({ limit: 3 }))).toMatchObject({
      ids: ids.slice(0, 3),
      redriven: [ids[1]],
      total: 10,
    });

    topic.expireBefore(ids[4]!);
    expect(view(await index.page({ limit: 3 }))).toEqual({
      ids: ids.slice(4, 7),
      redriven: [ids[6]],
      total: 6,
      next: ids[6],
    });
    expect(view(await index.page({ limit: 10, order: 'newest' })).ids).toEqual(ids.slice(4).reverse());

    // Everything expires, the marks too: the topic is empty, then gains a letter.
    topic.expireBefore(Number.POSITIVE_INFINITY);
    expect(view(await index.page({ limit: 3 }))).toEqual({
      ids: [],
      redriven: [],
      total: 0,
      next: undefined,
    });
    const later = topic.letter(11);
    expect(view(await index.page({ limit: 3 }))).toEqual({
      ids: [later],
      redriven: [],
      total: 1,
      next: undefined,
    });
  });

  it('a dead-letter topic deleted and created again is read again from its start', async () => {
    const topic = new DeadLetterTopic();
    for (let n = 1; n <= 6; n++) topic.letter(n);
    const index = new DeadLetterIndex(topic, { pageSize: 4 });
    expect((await index.page({ limit: 10 })).total).toBe(6);

    topic.recreate();
    const again = [topic.letter(101), topic.letter(102)];
    const page = await index.page({ limit: 10 });
    expect(view(page)).toEqual({ ids: again, redriven: [], total: 2, next: undefined });
    expect(page.letters.map((l) => l.msgId)).toEqual(['evt-101', 'evt-102']);
  });

  it('pages asked for at once are computed one after the other, each from the topic as read', async () => {
    const topic = new DeadLetterTopic();
    for (let n = 1; n <= 20; n++) topic.letter(n);
    const index = new DeadLetterIndex(topic, { pageSize: 3 });
    const pages = await Promise.all([
      index.page({ limit: 5 }),
      index.page({ limit: 5, order: 'newest' }),
      index.page({ limit: 50 }),
    ]);
    expect(pages.map((p) => [p.total, p.letters.length])).toEqual([
      [20, 5],
      [20, 5],
      [20, 20],
    ]);
    // The topic was read to its end once; the later pages read one message to know it again.
    expect(topic.answered).toBe(20 + 1 + 5 + (1 + 1 + 5) + (1 + 1 + 20));
  });
});

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Admin } from '@platformatic/kafka';
import { busSettings, loadConfig } from '@tideline/config';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeadLetterIndex,
  type DeadLetterPage,
  listDeadLetters,
  pageOfDeadLetters,
  REDRIVEN_HEADER,
  REDRIVEN_SUBJECT,
} from '../src/dead-letters.ts';
import { createEventBus } from '../src/factory.ts';
import { eventually } from '../src/testing/wait.ts';
import {
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_TOPIC,
  type EventBus,
  type ReadOptions,
  type Subscription,
} from '../src/types.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const natsUrl = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const DELIVERY_TIMEOUT_MS = 20_000;
const PAGE_SIZE = 100;
/** The test runs the CLI eight times as processes (tsx compiles it, then it connects) on a busy machine. */
const CLI_TEST_TIMEOUT_MS = 180_000;

async function destroy(kind: 'nats' | 'kafka', prefix: string): Promise<void> {
  if (kind === 'nats') {
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const name of jsm.streams.names())
        if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
    } finally {
      await nc.close();
    }
    return;
  }
  const admin = new Admin({ clientId: 'dlq-cleanup', bootstrapBrokers: kafkaBrokers.split(',') });
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}_`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${prefix}_`));
    if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
  } finally {
    await admin.close();
  }
}

/** The broker drops every message of the dead-letter topic before `position`, as its retention by age would. */
async function dropDeadLettersBefore(
  kind: 'nats' | 'kafka',
  prefix: string,
  position: number,
): Promise<void> {
  const name = `${prefix}_${DEAD_LETTER_TOPIC}`;
  if (kind === 'nats') {
    const nc = await connect({ servers: natsUrl });
    try {
      await (await jetstreamManager(nc)).streams.purge(name, { seq: position });
    } finally {
      await nc.close();
    }
    return;
  }
  const admin = new Admin({ clientId: 'dlq-expire', bootstrapBrokers: kafkaBrokers.split(',') });
  try {
    await admin.deleteRecords({
      topics: [{ name, partitions: [{ partition: 0, offset: BigInt(position - 1) }] }],
    });
  } finally {
    await admin.close();
  }
}

/** Dead letter `n` as the bus writes them (rejected by group `projector`); answers its id. */
async function publishDeadLetter(bus: EventBus, n: number): Promise<number> {
  const receipt = await bus.publish(
    'dead-letter.websites',
    { n },
    {
      msgId: `projector:evt-${n}`,
      headers: {
        [DEAD_LETTER_HEADERS.topic]: 'websites',
        [DEAD_LETTER_HEADERS.subject]: 'website.created',
        [DEAD_LETTER_HEADERS.group]: 'projector',
        [DEAD_LETTER_HEADERS.reason]: 'rejected: schema',
        [DEAD_LETTER_HEADERS.deliveries]: '1',
        [DEAD_LETTER_HEADERS.position]: String(n),
        [DEAD_LETTER_HEADERS.msgId]: `evt-${n}`,
      },
    },
  );
  return receipt.position;
}

/** The redrive marker of dead letter `id`, as a redrive writes it. */
async function publishRedriveMark(bus: EventBus, id: number): Promise<void> {
  await bus.publish(
    REDRIVEN_SUBJECT,
    { id },
    { msgId: `redriven:${id}`, headers: { [REDRIVEN_HEADER]: String(id) } },
  );
}

const pageView = (page: DeadLetterPage) => ({
  ids: page.letters.map((l) => l.id),
  redriven: page.letters.filter((l) => l.redriven).map((l) => l.id),
  total: page.total,
  next: page.next,
});

for (const kind of ['nats', 'kafka'] as const) {
  describe(`npm run dlq over ${kind}`, () => {
    const prefix = `dlq_${kind}_${randomBytes(4).toString('hex')}`;
    const env: Record<string, string> = {
      TIDELINE_BUS: kind,
      TIDELINE_BUS_PREFIX: prefix,
      TIDELINE_NATS_URL: natsUrl,
      TIDELINE_KAFKA_BROKERS: kafkaBrokers,
      // The shortest window the setting allows, so a redrive of a fresh poison message is not held long.
      TIDELINE_BUS_DUPLICATE_WINDOW_MS: '1000',
      TIDELINE_BUS_RETRY_BACKOFF_MS: '50',
      TIDELINE_KAFKA_SESSION_TIMEOUT_MS: '6000',
      TIDELINE_KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      TIDELINE_KAFKA_FETCH_MAX_WAIT_MS: '100',
      TIDELINE_KAFKA_RETRY_DELAY_MS: '100',
      TIDELINE_DEAD_LETTER_PAGE_SIZE: String(PAGE_SIZE),
    };
    const config = loadConfig(busSettings, { env });
    let bus: EventBus | undefined;
    let subscription: Subscription | undefined;

    afterEach(async () => {
      await subscription?.stop();
      await bus?.drain();
      await destroy(kind, prefix);
    });

    const dlq = async (...args: string[]) => {
      const { stdout } = await run(process.execPath, [TSX, 'packages/bus/src/dlq-cli.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
      });
      return stdout;
    };

    it(
      'dlq - a poison message is listed, shown, redriven once and never duplicated',
      async () => {
        bus = createEventBus({ config, clientName: 'dlq-test' });
        await bus.start();
        let accepting = false;
        const handled: string[] = [];
        subscription = await bus.subscribe({
          topic: 'websites',
          group: 'projector',
          handler: (m) => {
            if (m.json<{ poison?: boolean }>().poison && !accepting) return { reject: { reason: 'schema' } };
            handled.push(m.msgId);
          },
        });
        await bus.publish(
          'website.created',
          { poison: true, hook: 'https://deploy:hunter2@hooks.example.com/x' },
          { msgId: 'evt-poison', key: 'websites' },
        );
        expect(
          await eventually(
            async () => (await listDeadLetters(bus!, { pageSize: PAGE_SIZE })).length === 1,
            DELIVERY_TIMEOUT_MS,
            50,
          ),
        ).toBe(true);
        const [letter] = await listDeadLetters(bus, { pageSize: PAGE_SIZE });
        const id = String(letter!.id);

        const listed = await dlq('list');
        const row = listed.split('\n').find((line) => line.startsWith(`${id}\t`));
        expect(row?.split('\t')).toEqual([
          id,
          'websites',
          'website.created',
          'projector',
          'rejected: schema',
          expect.stringMatching(/^\d+[smhd]$/),
          'no',
        ]);

        const shown = await dlq('show', id);
        expect(shown).toContain('msgId:       evt-poison');
        expect(shown).toContain('group:       projector');
        expect(shown).toContain('"poison": true');
        // show - a credential in a dead payload is redacted, never printed
        expect(shown).toContain('https://***@hooks.example.com/x');
        expect(shown).not.toContain('hunter2');

        const dry = await dlq('redrive', '--dry-run');
        expect(dry).toContain(`would redrive 1/1 #${id} website.created msgId=evt-poison`);
        expect(await bus.read({ topic: 'websites', from: 1, limit: 10 })).toHaveLength(1);
        expect((await listDeadLetters(bus, { pageSize: PAGE_SIZE }))[0]!.redriven).toBe(false);
        expect(handled).toEqual([]);

        accepting = true;
        // Over JetStream the copy is held while the original's msgId is inside the duplicate window.
        let redriven = '';
        expect(
          await eventually(
            async () => {
              redriven = await dlq('redrive', '--subject', 'website.>');
              return redriven.includes(`redriven 1/1 #${id} website.created msgId=evt-poison`);
            },
            DELIVERY_TIMEOUT_MS,
            200,
          ),
        ).toBe(true);
        expect(redriven).toContain('redriven 1 of 1 selected');
        expect(await eventually(() => handled.includes('evt-poison'), DELIVERY_TIMEOUT_MS, 20)).toBe(true);
        expect((await dlq('list')).split('\n').find((line) => line.startsWith(`${id}\t`))).toMatch(/\tyes$/);

        const second = await dlq('redrive');
        expect(second).toContain(`skipped (redriven before) 1/1 #${id}`);
        expect(second).toContain('redriven 0 of 1 selected; 0 held, 1 skipped');

        // Even a forced second copy keeps the msgId: the group that handled it drops it.
        await dlq('redrive', '--again', '--id', id);
        await bus.publish('website.created', { sentinel: true }, { msgId: 'evt-sentinel', key: 'websites' });
        expect(await eventually(() => handled.includes('evt-sentinel'), DELIVERY_TIMEOUT_MS, 20)).toBe(true);
        expect(handled).toEqual(['evt-poison', 'evt-sentinel']);
        expect(await listDeadLetters(bus, { pageSize: PAGE_SIZE })).toHaveLength(1);
      },
      CLI_TEST_TIMEOUT_MS,
    );

    it('dead letters are listed a page at a time: the total, the next cursor, and redrive marks written after the page', async () => {
      bus = createEventBus({ config, clientName: 'dlq-page-test' });
      await bus.start();
      // Five dead letters as the bus writes them, then a redrive mark for the second one.
      const ids: number[] = [];
      for (let n = 1; n <= 5; n++) ids.push(await publishDeadLetter(bus, n));
      await publishRedriveMark(bus, ids[1]!);
      const page = async (after: number, limit: number) => {
        const { letters, total, next } = await pageOfDeadLetters(bus!, { pageSize: 2, after, limit });
        return { letters: letters.map((l) => [l.id, l.msgId, l.redriven]), total, next };
      };
      const newest = async (before: number | undefined, limit: number) => {
        const { letters, total, next } = await pageOfDeadLetters(bus!, {
          pageSize: 2,
          order: 'newest',
          ...(before !== undefined ? { before } : {}),
          limit,
        });
        return { letters: letters.map((l) => [l.id, l.msgId, l.redriven]), total, next };
      };

      expect(await page(0, 2)).toEqual({
        letters: [
          [ids[0], 'evt-1', false],
          [ids[1], 'evt-2', true],
        ],
        total: 5,
        next: ids[1],
      });
      expect(await page(ids[1]!, 2)).toEqual({
        letters: [
          [ids[2], 'evt-3', false],
          [ids[3], 'evt-4', false],
        ],
        total: 5,
        next: ids[3],
      });
      expect(await page(ids[3]!, 2)).toEqual({
        letters: [[ids[4], 'evt-5', false]],
        total: 5,
        next: undefined,
      });
      expect(await page(ids[4]!, 2)).toEqual({ letters: [], total: 5, next: undefined });
      // Newest first: pages going back with `before`.
      expect(await newest(undefined, 2)).toEqual({
        letters: [
          [ids[4], 'evt-5', false],
          [ids[3], 'evt-4', false],
        ],
        total: 5,
        next: ids[3],
      });
      expect(await newest(ids[3], 2)).toEqual({
        letters: [
          [ids[2], 'evt-3', false],
          [ids[1], 'evt-2', true],
        ],
        total: 5,
        next: ids[1],
      });
      expect(await newest(ids[1], 2)).toEqual({
        letters: [[ids[0], 'evt-1', false]],
        total: 5,
        next: undefined,
      });
      // The whole list is the pages put together, markers left out.
      expect((await listDeadLetters(bus, { pageSize: 2 })).map((l) => l.id)).toEqual(ids);
    });

    it('the index of the dead letters reads what the topic gained, redrive marks, and not the letters the broker dropped', async () => {
      bus = createEventBus({ config, clientName: 'dlq-index-test' });
      await bus.start();
      let answered = 0;
      const reader = {
        read: async (options: ReadOptions) => {
          const page = await bus!.read(options);
          answered += page.length;
          return page;
        },
      };
      const ids: number[] = [];
      for (let n = 1; n <= 6; n++) ids.push(await publishDeadLetter(bus, n));
      const index = new DeadLetterIndex(reader, { pageSize: 2 });
      expect(pageView(await index.page({ order: 'newest', limit: 2 }))).toEqual({
        ids: [ids[5], ids[4]],
        redriven: [],
        total: 6,
        next: ids[4],
      });

      ids.push(await publishDeadLetter(bus, 7));
      await publishRedriveMark(bus, ids[4]!);
      answered = 0;
      expect(pageView(await index.page({ order: 'newest', limit: 2 }))).toEqual({
        ids: [ids[6], ids[5]],
        redriven: [],
        total: 7,
        next: ids[5],
      });
      // The last message read again (to know the topic), the letter and the mark it gained, where
      // the topic starts, and the page: not the topic.
      expect(answered).toBe(1 + 2 + 1 + 2);
      expect(pageView(await index.page({ order: 'newest', before: ids[5]!, limit: 2 }))).toEqual({
        ids: [ids[4], ids[3]],
        redriven: [ids[4]],
        total: 7,
        next: ids[3],
      });

      await dropDeadLettersBefore(kind, prefix, ids[3]!);
      const expected = { ids: ids.slice(3), redriven: [ids[4]], total: 4, next: undefined };
      expect(pageView(await index.page({ limit: 10 }))).toEqual(expected);
      expect(pageView(await pageOfDeadLetters(bus, { pageSize: 2, limit: 10 }))).toEqual(expected);
    });
  });
}

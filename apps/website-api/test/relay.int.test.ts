import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  type BusMessage,
  BusUnavailableError,
  type EventBus,
  MemoryEventBus,
  type PublishOptions,
  type PublishReceipt,
  type TopicSpec,
} from '@tideline/bus';
import { WebsiteEvent } from '@tideline/contracts';
import { createLogger, Registry } from '@tideline/runtime';
import {
  DisposableServer,
  eventually,
  FaultProxy,
  freePort,
  TestDatabase,
  testBusOptions,
  waitForPort,
} from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresRelayState } from '../src/adapters/event-log/relay-state.ts';
import { EventRelay } from '../src/adapters/relay.ts';
import {
  ApiClient,
  ApiFixture,
  NATS_URL,
  openBus,
  readWebsiteStream,
  removeStreams,
  testEnv,
  uniquePrefix,
} from './harness.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function later<T>(cleanup: () => Promise<unknown> | unknown, value: T): T {
  cleanups.push(cleanup);
  return value;
}

/** A fixture disposed after the test; one sharing another's database leaves the database to it. */
async function started(options: Parameters<typeof ApiFixture.start>[0]): Promise<ApiFixture> {
  const fx = await ApiFixture.start(options);
  const shared = options?.database !== undefined;
  cleanups.push(() => fx.dispose({ keepDatabase: shared }));
  return fx;
}

async function bus(prefix: string, servers = NATS_URL): Promise<EventBus> {
  const b = await openBus(prefix, servers);
  return later(() => b.drain(), b);
}

/**
 * Creates `n` websites through the API. Called while the broker is cut off, a 201 for each proves
 * the answer does not wait for the broker (it would never come); no wall-clock bound is needed.
 */
async function writeChanges(fx: ApiClient, n: number, tag: string): Promise<void> {
  const lineGroupId = (await fx.lineGroup(`relay-${tag}`)).id;
  for (let i = 0; i < n; i++) {
    const answer = await fx.call('POST', '/api/v1/websites/create', {
      body: { domains: [`${tag}-${i}.relay.example.com`], line_group_id: lineGroupId },
    });
    expect(answer.status).toBe(201);
  }
}

/** Asserts the stream holds events 1..last, each once, in id order, as valid website events on website.<type>. */
function expectExactlyOnceInOrder(messages: BusMessage[], last: number): void {
  const perId = new Map<string, number>();
  for (const m of messages) perId.set(m.msgId, (perId.get(m.msgId) ?? 0) + 1);
  expect([...perId.values()].filter((count) => count !== 1)).toEqual([]);
  expect(messages.map((m) => Number(m.msgId))).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  for (const m of messages) {
    const event = WebsiteEvent.parse(m.json());
    expect(String(event.eventId)).toBe(m.msgId);
    expect(m.subject).toBe(`website.${event.type}`);
  }
}

const streamHas = (b: EventBus, count: number) => async () => (await readWebsiteStream(b)).length >= count;

/** An in-memory broker that loses the first publish of one msgId (stores nothing, fails it). */
class LosingOnce extends MemoryEventBus {
  private lost = false;
  constructor(private readonly msgIdToLose: string) {
    super(testBusOptions('relay-order'));
  }
  protected override doPublish(
    topic: TopicSpec,
    subject: string,
    data: Uint8Array,
    options: PublishOptions,
  ): Promise<PublishReceipt> {
    if (options.msgId === this.msgIdToLose && !this.lost) {
      this.lost = true;
      return Promise.reject(new BusUnavailableError(`publish of ${subject} lost on the way`));
    }
    return super.doPublish(topic, subject, data, options);
  }
}

/**
 * A service that wrote `n` changes, published them and stopped, its relay progress reset: a relay
 * of the test's own ({@link ownRelay}) then publishes the log again from the start.
 */
async function publishedAndStopped(n: number, tag: string): Promise<ApiFixture> {
  const fx = await started({});
  await writeChanges(fx, n, tag);
  expect(await eventually(async () => (await fx.publishedId()) === n, 10_000)).toBe(true);
  await fx.stopService();
  await fx.query(`UPDATE ws_relay_state SET last_published_id = 0, owner = NULL`);
  return fx;
}

/** A relay of the test's own over `fx`'s log, publishing to `broker`; stopped after the test. */
function ownRelay(
  fx: ApiFixture,
  broker: EventBus,
  options: { intervalMs: number; metrics?: Registry; owner: string },
): EventRelay {
  const relay = new EventRelay({
    state: new PostgresRelayState({ pool: fx.sql, topic: 'websites' }),
    bus: () => broker,
    batchSize: 10,
    intervalMs: options.intervalMs,
    progressIntervalMs: 0,
    leaseMs: 10_000,
    logger: createLogger({ level: 'silent', service: 'relay-test' }),
    metrics: options.metrics ?? new Registry(),
    owner: options.owner,
  });
  cleanups.push(() => relay.stop());
  return relay;
}

/** An in-memory broker the test disconnects and connects again. */
class Disconnectable extends MemoryEventBus {
  private up = true;
  constructor() {
    super(testBusOptions('relay-back'));
  }
  override healthy(): boolean {
    return this.up && super.healthy();
  }
  setUp(up: boolean): void {
    this.up = up;
    this.healthChanged();
  }
}

/**
 * `broker`, where another publisher (an operator redriving a dead website event, say) stores one
 * message on the topic just before event `msgId` is first sent: it lands between two events of
 * one relay pass.
 */
function interleavedOnce(broker: EventBus, msgId: string): EventBus {
  let interleaved = false;
  return new Proxy(broker, {
    get(target, property) {
      if (property === 'publish')
        return async (subject: string, data: object, options: PublishOptions) => {
          if (options.msgId === msgId && !interleaved) {
            interleaved = true;
            await target.publish('website.created', { redriven: true }, { msgId: 'redriven-copy' });
          }
          return target.publish(subject, data, options);
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('relay (invariant 1: no committed change without its event on the broker)', () => {
  it('relay - publishes every committed change once, in id order, as website.<type> with msgId = eventId and the contract envelope', async () => {
    const fx = await started({});
    await writeChanges(fx, 5, 'plain');
    const [first] = await fx.query(`SELECT id FROM websites ORDER BY id LIMIT 1`);
    expect(
      (
        await fx.call('POST', '/api/v1/websites/update', {
          body: { website_id: first!.id, status: 'paused' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await fx.call('POST', '/api/v1/websites/delete', { body: { website_id: first!.id } })).status,
    ).toBe(200);
    const reader = await bus(fx.busPrefix);
    expect(await eventually(streamHas(reader, 7), 10_000)).toBe(true);
    const messages = await readWebsiteStream(reader);
    expectExactlyOnceInOrder(messages, 7);
    expect(messages.map((m) => m.subject)).toEqual([
      ...Array(5).fill('website.add'),
      'website.update',
      'website.delete',
    ]);
    const rows = await fx.query(`SELECT payload FROM ws_events ORDER BY id`);
    expect(messages.map((m) => m.json<{ data: unknown }>().data)).toEqual(rows.map((r) => r.payload));
    expect(await eventually(async () => (await fx.publishedId()) === 7, 5_000)).toBe(true);
  });

  // The relay once sorted a batch by its `id::text` output column, publishing 1, 2, 10, 100, 101, …
  // (text order). Here the broker is out of reach while 8 writers create 400 websites, so the relay
  // then publishes ids 1..400 in one batch, across the 9 → 10 and 99 → 100 boundaries.
  it('relay - a batch is published in numeric id order: 400 events from concurrent writers, each once', async () => {
    const brokerPath = await FaultProxy.to(Number(new URL(NATS_URL).port));
    cleanups.push(() => brokerPath[Symbol.asyncDispose]());
    brokerPath.cut();
    const fx = await started({
      env: {
        TIDELINE_NATS_URL: `nats://127.0.0.1:${brokerPath.port}`,
        TIDELINE_WEBSITE_API_BUS_START_RETRY_MS: '100',
      },
    });
    const lineGroupId = (await fx.lineGroup('relay-order')).id;
    const writers = 8;
    const perWriter = 50;
    const answers = await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const statuses: number[] = [];
        for (let i = 0; i < perWriter; i++) {
          const answer = await fx.call('POST', '/api/v1/websites/create', {
            body: { domains: [`w${w}-${i}.order.example.com`], line_group_id: lineGroupId },
          });
          statuses.push(answer.status);
        }
        return statuses;
      }),
    );
    expect(answers.flat().filter((status) => status !== 201)).toEqual([]);
    expect(await fx.publishedId()).toBe(0);
    brokerPath.restore();
    const reader = await bus(fx.busPrefix);
    const count = writers * perWriter;
    expect(await eventually(streamHas(reader, count), 20_000, 50)).toBe(true);
    expectExactlyOnceInOrder(await readWebsiteStream(reader), count);
    expect(await eventually(async () => (await fx.publishedId()) === count, 5_000)).toBe(true);
  });

  it('relay - broker outage: writes succeed meanwhile; afterwards every event is published exactly once, in order', async () => {
    const nats = await DisposableServer.nats();
    cleanups.push(() => nats[Symbol.asyncDispose]());
    const fx = await started({ env: { TIDELINE_NATS_URL: nats.url } });
    await writeChanges(fx, 3, 'before');
    const reader = await bus(fx.busPrefix, nats.url);
    expect(await eventually(streamHas(reader, 3), 10_000)).toBe(true);
    await reader.drain();
    // Progress reaches the database within TIDELINE_WEBSITE_API_RELAY_PROGRESS_INTERVAL_MS.
    expect(await eventually(async () => (await fx.publishedId()) === 3, 5_000)).toBe(true);

    await nats.stop();
    await writeChanges(fx, 6, 'during');
    expect(await fx.publishedId()).toBe(3);
    expect(await fx.lastEventId()).toBe(9);
    const ready = await fetch(`${fx.api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { observed: { bus: boolean } }).observed.bus).toBe(false);

    await nats.start();
    const after = await bus(fx.busPrefix, nats.url);
    expect(await eventually(streamHas(after, 9), 20_000, 50)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expectExactlyOnceInOrder(await readWebsiteStream(after), await fx.lastEventId());
    const metrics = await (await fetch(`${fx.api.url}/metrics`)).text();
    expect(metrics).toMatch(/tideline_website_api_relay_published_total\{[^}]*\} 9/);
  });

  it('relay - broker down at start: website-api starts, takes writes, and publishes once the broker is up', async () => {
    const nats = await DisposableServer.nats();
    cleanups.push(() => nats[Symbol.asyncDispose]());
    await nats.stop();
    const fx = await started({
      env: { TIDELINE_NATS_URL: nats.url, TIDELINE_WEBSITE_API_BUS_START_RETRY_MS: '100' },
    });
    expect((await fetch(`${fx.api.url}/readyz`)).status).toBe(200);
    await writeChanges(fx, 4, 'cold');
    expect(await fx.publishedId()).toBe(0);
    await nats.start();
    const reader = await bus(fx.busPrefix, nats.url);
    expect(await eventually(streamHas(reader, 4), 15_000, 50)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expectExactlyOnceInOrder(await readWebsiteStream(reader), 4);
  });

  it('relay - a failed publish is logged and counted, the event stays in the log, and a later relay publishes it', async () => {
    const lines: string[] = [];
    const logDestination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const fx = await started({ env: { TIDELINE_LOG_LEVEL: 'warn' }, logDestination });
    // Once the bus is up, the broker loses the stream: every publish of this relay is refused.
    const busUp = async () =>
      ((await (await fetch(`${fx.api.url}/readyz`)).json()) as { observed: { bus: boolean } }).observed.bus;
    expect(await eventually(busUp, 10_000, 50)).toBe(true);
    await removeStreams(fx.busPrefix);
    await writeChanges(fx, 2, 'refused');
    const failures = async () => {
      const text = await (await fetch(`${fx.api.url}/metrics`)).text();
      return Number(/tideline_website_api_relay_publish_failures_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    expect(await eventually(async () => (await failures()) >= 2, 20_000, 100)).toBe(true);
    expect(await fx.publishedId()).toBe(0);
    const warning = lines
      .map((line) => JSON.parse(line) as { msg: string; eventId?: number; level: string })
      .find((l) => l.msg.startsWith('relay: publish failed'));
    expect(warning).toMatchObject({ level: 'warn', eventId: 1 });

    await fx.stopService();
    const next = await started({ database: fx.database, busPrefix: fx.busPrefix });
    const reader = await bus(fx.busPrefix);
    expect(await eventually(streamHas(reader, 2), 10_000)).toBe(true);
    expectExactlyOnceInOrder(await readWebsiteStream(reader), 2);
    expect(await next.publishedId()).toBe(2);
  });

  it('relay - the events of a pass go out without waiting for one another, yet one lost on the way is never overtaken: the topic holds them in id order', async () => {
    // A relay of its own publishes the log again from the start, to a broker that loses event 2
    // the first time: 3 and 4 were sent before 2's answer came back, and must not be stored
    // ahead of it.
    const fx = await publishedAndStopped(4, 'lost');
    const broker = new LosingOnce('2');
    await broker.start();
    cleanups.push(() => broker.drain());
    const metrics = new Registry();
    const relay = ownRelay(fx, broker, { intervalMs: 20, metrics, owner: 'relay-order-test' });
    relay.start();
    expect(await eventually(async () => (await fx.publishedId()) === 4, 10_000)).toBe(true);
    const stored = await broker.read({ topic: 'websites', from: 1, limit: 10 });
    expect(stored.map((m) => m.msgId)).toEqual(['1', '2', '3', '4']);
    const failures = await metrics.getSingleMetricAsString(
      'tideline_website_api_relay_publish_failures_total',
    );
    expect(failures).toMatch(/ 1$/m);
  });

  it('relay - a message of another publisher between two events of a pass (a redrive): the rest goes out at once, in id order, not at the next interval', async () => {
    const fx = await publishedAndStopped(4, 'interleaved');
    const prefix = uniquePrefix('interleaved');
    cleanups.push(() => removeStreams(prefix));
    const broker = await bus(prefix);
    // An hour: only the relay's own retry can publish the rest.
    const relay = ownRelay(fx, interleavedOnce(broker, '2'), {
      intervalMs: 3_600_000,
      owner: 'relay-interleaved-test',
    });
    relay.start();
    expect(await eventually(async () => (await fx.publishedId()) === 4, 10_000)).toBe(true);
    // Event 2 expected event 1 as the topic's last message and was refused (3 and 4 with it); the
    // next pass started from 2 expecting nothing.
    const stored = await readWebsiteStream(broker);
    expect(stored.map((m) => m.msgId)).toEqual(['1', 'redriven-copy', '2', '3', '4']);
    expectExactlyOnceInOrder(
      stored.filter((m) => m.msgId !== 'redriven-copy'),
      4,
    );
  });

  it('relay - broker back: the backlog goes out the moment the bus is connected again, not at the next interval', async () => {
    const fx = await publishedAndStopped(3, 'back');
    const broker = new Disconnectable();
    await broker.start();
    cleanups.push(() => broker.drain());
    broker.setUp(false);
    // An hour: only the bus coming back can start the pass that publishes.
    const relay = ownRelay(fx, broker, { intervalMs: 3_600_000, owner: 'relay-back-test' });
    relay.start();
    // The first pass found the bus away and published nothing.
    expect(await broker.read({ topic: 'websites', from: 1, limit: 10 })).toEqual([]);
    broker.setUp(true);
    expect(await eventually(async () => (await fx.publishedId()) === 3, 10_000)).toBe(true);
    const stored = await broker.read({ topic: 'websites', from: 1, limit: 10 });
    expect(stored.map((m) => m.msgId)).toEqual(['1', '2', '3']);
  });

  it('relay - crash between commit and publish: a new instance publishes what was committed, exactly once', async () => {
    const database = await TestDatabase.create('tideline_wsapi_crash');
    cleanups.push(() => database[Symbol.asyncDispose]());
    const prefix = uniquePrefix('crash');
    cleanups.push(() => removeStreams(prefix));
    const natsPort = Number(new URL(NATS_URL).port);
    const brokerPath = await FaultProxy.to(natsPort);
    cleanups.push(() => brokerPath[Symbol.asyncDispose]());
    const port = await freePort();
    const env = testEnv(database, prefix, {
      TIDELINE_WEBSITE_API_PORT: String(port),
      TIDELINE_NATS_URL: `nats://127.0.0.1:${brokerPath.port}`,
      TIDELINE_WEBSITE_API_RELAY_LEASE_MS: '1500',
    });
    const child = spawnService(env);
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    await waitForPort(port, 20_000);
    const base = `http://127.0.0.1:${port}`;
    expect(await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, 20_000, 100)).toBe(
      true,
    );

    const crashed = ApiClient.attach(base, database);
    cleanups.push(() => crashed.sql.end());
    // Its relay holds the lease, then the broker becomes unreachable, changes commit, and the
    // process dies before publishing them (and without handing the lease back).
    const holdsLease = async () =>
      (await crashed.query(`SELECT owner FROM ws_relay_state`))[0]!.owner !== null;
    expect(await eventually(holdsLease, 20_000, 50)).toBe(true);
    brokerPath.cut();
    await writeChanges(crashed, 5, 'crash');
    const [before] = await crashed.query(
      `SELECT last_published_id::int AS published, owner FROM ws_relay_state`,
    );
    expect(before!.published).toBe(0);
    expect(before!.owner).not.toBeNull();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const successor = await started({
      database,
      busPrefix: prefix,
      env: { TIDELINE_WEBSITE_API_RELAY_LEASE_MS: '1500' },
    });
    const reader = await bus(prefix);
    expect(await eventually(streamHas(reader, 5), 15_000, 50)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expectExactlyOnceInOrder(await readWebsiteStream(reader), 5);
    const [after] = await successor.query(
      `SELECT last_published_id::int AS published, owner FROM ws_relay_state`,
    );
    expect(after).toEqual({ published: 5, owner: successor.api.relay.owner });
  });

  it('relay - a crash after publishing but before recording progress republishes; the broker keeps each id once', async () => {
    const fx = await started({});
    await writeChanges(fx, 4, 'replay');
    const reader = await bus(fx.busPrefix);
    expect(await eventually(async () => (await fx.publishedId()) === 4, 10_000)).toBe(true);
    await fx.api.relay.stop();
    // As if the relay died after publishing 1..4 but before writing its progress.
    await fx.query(`UPDATE ws_relay_state SET last_published_id = 0, owner = NULL, lease_until = NULL`);
    const second = await started({ database: fx.database, busPrefix: fx.busPrefix });
    expect(await eventually(async () => (await second.publishedId()) === 4, 10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expectExactlyOnceInOrder(await readWebsiteStream(reader), 4);
  });

  it('relay - two replicas: one holds the lease and publishes; each event once, in order; stopping it hands over at once', async () => {
    const a = await started({ env: { TIDELINE_WEBSITE_API_RELAY_LEASE_MS: '60000' } });
    const b = await started({
      database: a.database,
      busPrefix: a.busPrefix,
      env: { TIDELINE_WEBSITE_API_RELAY_LEASE_MS: '60000' },
    });
    await writeChanges(a, 4, 'replica-a');
    await writeChanges(b, 4, 'replica-b');
    const reader = await bus(a.busPrefix);
    expect(await eventually(streamHas(reader, 8), 10_000)).toBe(true);
    expect([a.api.relay.isLeader, b.api.relay.isLeader].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.api.relay.isLeader ? [a, b] : [b, a];
    await leader.stopService();
    await writeChanges(follower, 3, 'after-handover');
    // The lease is 60 s: only the hand-over at stop lets the follower publish this soon.
    expect(await eventually(streamHas(reader, 11), 5_000)).toBe(true);
    expect(follower.api.relay.isLeader).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expectExactlyOnceInOrder(await readWebsiteStream(reader), 11);
  });
});

function spawnService(env: Record<string, string>): ChildProcess {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: 'ignore',
  });
}

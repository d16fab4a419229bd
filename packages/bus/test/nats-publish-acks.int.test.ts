import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { busSettings, loadConfig } from '@tideline/config';
import {
  DisposableServer,
  removeStreams,
  TEST_NATS_URL,
  testBusOptions,
  uniquePrefix,
} from '@tideline/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { BusUnavailableError, PublishExpectationError } from '../src/errors.ts';
import { createEventBus } from '../src/factory.ts';
import { NatsEventBus } from '../src/nats/nats-bus.ts';
import { PublishAcks } from '../src/nats/publish-acks.ts';

/** JetStream publishes over PublishAcks against the real server: each answer JetStream gives, and the ones it does not. */
describe('PublishAcks (real NATS JetStream)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(timeoutMs: number): Promise<{
    nc: NatsConnection;
    acks: PublishAcks;
    stream: string;
    subject: string;
  }> {
    const nc = await connect({ servers: TEST_NATS_URL, noAsyncTraces: true });
    const stream = uniquePrefix('acks').replace(/[^A-Za-z0-9_]/g, '_');
    const subject = `${stream}.events`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], duplicate_window: 60_000_000_000 });
    const acks = new PublishAcks(nc, timeoutMs);
    cleanups.push(async () => {
      acks.close('test done');
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    });
    return { nc, acks, stream, subject };
  }

  /**
   * Leaves the bus's website publishes unanswered: the websites stream of `prefix` goes away and a
   * core subscriber that never replies takes its subjects (so the server finds a responder). The
   * `arrived` resolves once a publish reached that subscriber.
   */
  async function unanswered(nc: NatsConnection, prefix: string): Promise<{ arrived: Promise<void> }> {
    await (await jetstreamManager(nc)).streams.delete(`${prefix}_websites`);
    const arrived = new Promise<void>((resolve) =>
      nc.subscribe(`${prefix}.website.>`, { callback: () => resolve() }),
    );
    await nc.flush();
    return { arrived };
  }

  const body = (n: number) => new TextEncoder().encode(JSON.stringify({ n }));
  const headed = (fields: Record<string, string>) => {
    const h = headers();
    for (const [name, value] of Object.entries(fields)) h.set(name, value);
    return h;
  };

  it('acks - each stored publish answers its own stream sequence, a republished msgId answers duplicate', async () => {
    const { acks, stream, subject } = await setUp(5_000);
    // Out together: each answer must reach its own publish.
    const answers = await Promise.all(
      [1, 2, 3].map((n) => acks.publish(subject, body(n), headed({ 'Nats-Msg-Id': `m${n}` }))),
    );
    expect(answers).toEqual([
      { stream, seq: 1, duplicate: false },
      { stream, seq: 2, duplicate: false },
      { stream, seq: 3, duplicate: false },
    ]);
    const again = await acks.publish(subject, body(2), headed({ 'Nats-Msg-Id': 'm2' }));
    expect(again).toEqual({ stream, seq: 2, duplicate: true });
    expect(acks.pending).toBe(0);
  });

  it('refusals - a wrong expected last msgId is a PublishExpectationError, a wrong expected stream a BusUnavailableError; nothing is stored', async () => {
    const { nc, acks, stream, subject } = await setUp(5_000);
    await acks.publish(subject, body(1), headed({ 'Nats-Msg-Id': 'a' }));
    const stale = acks.publish(
      subject,
      body(2),
      headed({ 'Nats-Msg-Id': 'b', 'Nats-Expected-Last-Msg-Id': 'not-a' }),
    );
    await expect(stale).rejects.toBeInstanceOf(PublishExpectationError);
    await expect(stale).rejects.toThrow(/refused: .*\(400\/10070\)/);
    const elsewhere = acks.publish(
      subject,
      body(3),
      headed({ 'Nats-Msg-Id': 'c', 'Nats-Expected-Stream': 'SOME_OTHER_STREAM' }),
    );
    await expect(elsewhere).rejects.toBeInstanceOf(BusUnavailableError);
    const { state } = await (await jetstreamManager(nc)).streams.info(stream);
    expect(state.messages).toBe(1);
  });

  it('no stream - a subject no stream takes fails at once with BusUnavailableError, not after the timeout', async () => {
    // A timeout of an hour: only the server's "no responders" answer can end this publish.
    const { acks, stream } = await setUp(3_600_000);
    await expect(acks.publish(`${stream}_none.events`, body(1), headed({}))).rejects.toThrow(
      /no stream takes the subject/,
    );
    expect(acks.pending).toBe(0);
  });

  it('timeout - a publish nobody answers fails with BusUnavailableError after the timeout, and a late answer is ignored', async () => {
    const { nc, acks, stream } = await setUp(300);
    // A core subscriber holds the subject: the server finds a responder, and it never answers in time.
    const held: string[] = [];
    const silent = nc.subscribe(`${stream}_silent.>`, {
      callback: (_error, msg) => {
        if (msg.reply) held.push(msg.reply);
      },
    });
    cleanups.push(async () => silent.unsubscribe());
    const publish = acks.publish(`${stream}_silent.events`, body(1), headed({}));
    await expect(publish).rejects.toThrow(/no ack within 300 ms/);
    expect(acks.pending).toBe(0);
    // Answering now changes nothing (no unhandled error, nothing waiting).
    expect(held).toHaveLength(1);
    nc.publish(held[0]!, new TextEncoder().encode('{"stream":"late","seq":1}'));
    await nc.flush();
    expect(acks.pending).toBe(0);
  });

  it('close - publishes waiting for their ack fail with BusUnavailableError when the bus closes', async () => {
    const { nc, acks, stream } = await setUp(3_600_000);
    const silent = nc.subscribe(`${stream}_silent.>`, { callback: () => {} });
    cleanups.push(async () => silent.unsubscribe());
    const waiting = acks.publish(`${stream}_silent.events`, body(1), headed({}));
    await nc.flush();
    expect(acks.pending).toBe(1);
    acks.close('the bus is closing');
    await expect(waiting).rejects.toThrow(/the bus is closing/);
    expect(acks.pending).toBe(0);
  });

  it('settings - TIDELINE_NATS_REQUEST_TIMEOUT_MS bounds a publish of the configured bus that JetStream leaves unanswered', async () => {
    const prefix = uniquePrefix('acktmo');
    const config = loadConfig(busSettings, {
      env: {
        TIDELINE_BUS_PREFIX: prefix,
        TIDELINE_NATS_URL: TEST_NATS_URL,
        TIDELINE_NATS_REQUEST_TIMEOUT_MS: '400',
      },
    });
    const bus = createEventBus({ config, clientName: 'acks-test' });
    await bus.start();
    const nc = await connect({ servers: TEST_NATS_URL });
    cleanups.push(async () => {
      await bus.drain();
      await nc.close();
      await removeStreams(prefix);
    });
    await unanswered(nc, prefix);
    // The message names the timeout that ended it: the setting's, not the 5,000 ms default.
    await expect(bus.publish('website.add', { n: 1 }, { msgId: 'x1', key: 'websites' })).rejects.toThrow(
      /no ack within 400 ms/,
    );
  });

  it('outage - a publish waiting for its ack when the connection is lost, and one made while it reconnects, fail at once, not after the request timeout', async () => {
    // A private server: this test kills it.
    const server = await DisposableServer.nats();
    cleanups.push(() => server[Symbol.asyncDispose]());
    const url = `nats://127.0.0.1:${server.port}`;
    const prefix = uniquePrefix('ackout');
    // A request timeout of an hour: only the lost connection can end the publish.
    const bus = new NatsEventBus({ servers: url, ...testBusOptions(prefix), requestTimeoutMs: 3_600_000 });
    await bus.start();
    cleanups.push(() => bus.drain());
    const nc = await connect({ servers: url });
    const { arrived } = await unanswered(nc, prefix);
    let settled = false;
    const publish = bus.publish('website.add', { n: 1 }, { msgId: 'x1', key: 'websites' });
    publish
      .catch(() => {})
      .finally(() => {
        settled = true;
      });
    // The publish reached the server, which will never answer it.
    await arrived;
    expect(settled).toBe(false);
    await server.stop();
    await expect(publish).rejects.toThrow(/the connection to NATS was lost before its ack came/);
    // While it reconnects, a new publish fails at once too (nats.js would buffer it and drop the
    // buffer when it dials again).
    await expect(bus.publish('website.add', { n: 2 }, { msgId: 'x2', key: 'websites' })).rejects.toThrow(
      /not connected to NATS \(reconnecting\)/,
    );
    // Waiting for the broker: one promise for the whole outage, pending until the client is back.
    const back = bus.untilHealthy();
    expect(bus.untilHealthy()).toBe(back);
    let isBack = false;
    void back.then(() => {
      isBack = true;
    });
    await Promise.resolve();
    expect(isBack).toBe(false);
    await server.start();
    await back;
    expect(bus.healthy()).toBe(true);
    await expect(bus.untilHealthy()).resolves.toBeUndefined();
  });
});

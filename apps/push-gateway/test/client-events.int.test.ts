import { SCOPES } from '@tideline/auth';
import { type ClientEventName, type RequestError, SCHEMA_VERSION, subjects } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPushGateway } from '../src/service.ts';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { FakeCache, nodeView } from './support/fake-cache.ts';
import { World } from './support/world.ts';

const RATE_LIMIT_EVENTS = 5;
const cache = new FakeCache();
let world: World;
let rateLimited: RunningPushGateway;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await World.start({
    gatewayEnv: { TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: '1000' },
    gatewayOptions: { nodesSource: cache },
  });
  rateLimited = await world.addGateway({ TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: String(RATE_LIMIT_EVENTS) });
  await world.createWebsite();
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
});

async function connect(scopes: string[], url = world.gateway.url): Promise<TestSocket> {
  const socket = await connectSocket(url, testToken(`u-${Math.random().toString(36).slice(2, 8)}`, scopes));
  sockets.push(socket);
  return socket;
}

/** The socket without the typed event maps, to send what a typed client never could. */
const raw = (socket: TestSocket) => socket as unknown as Socket;
const ALL_SCOPES = [SCOPES.websitesRead, SCOPES.nodesRead];

const malformed: Record<ClientEventName, { name: string; args: unknown[] }[]> = {
  'request:websites': [
    { name: 'a string', args: ['websites'] },
    { name: 'a number', args: [42] },
    { name: 'an array', args: [[]] },
    { name: 'negative lastEventId', args: [{ lastEventId: -1 }] },
    { name: 'fractional lastEventId', args: [{ lastEventId: 1.5 }] },
    { name: 'string lastEventId', args: [{ lastEventId: '12' }] },
    { name: 'empty version', args: [{ version: '' }] },
    { name: 'overlong version', args: [{ version: 'v'.repeat(65) }] },
    { name: 'unknown field', args: [{ lastEventId: 1, admin: true }] },
    { name: 'two payloads', args: [{}, {}] },
  ],
  'subscribe:nodes': [
    { name: 'no payload', args: [] },
    { name: 'no cluster', args: [{}] },
    { name: 'upper-case cluster', args: [{ cluster: 'Prod' }] },
    { name: 'empty cluster', args: [{ cluster: '' }] },
    { name: 'overlong cluster', args: [{ cluster: 'a'.repeat(64) }] },
    { name: 'cluster with a dot', args: [{ cluster: 'prod.eu' }] },
    { name: 'negative lastEventId', args: [{ cluster: 'prod', lastEventId: -5 }] },
    { name: 'unknown field', args: [{ cluster: 'prod', extra: 1 }] },
    { name: 'a string', args: ['prod'] },
  ],
  'unsubscribe:nodes': [
    { name: 'no cluster', args: [{}] },
    { name: 'number cluster', args: [{ cluster: 5 }] },
    { name: 'underscore cluster', args: [{ cluster: 'bad_name' }] },
    { name: 'an array', args: [['prod']] },
  ],
  'auth:refresh': [
    { name: 'no token', args: [{}] },
    { name: 'empty token', args: [{ token: '' }] },
    { name: 'number token', args: [{ token: 5 }] },
    { name: 'overlong token', args: [{ token: 'x'.repeat(8193) }] },
    { name: 'a string', args: ['token'] },
  ],
};

describe('client events', () => {
  it('malformed payloads - to every client event: BAD_REQUEST with the fields, by event and ack; nothing changes, no crash', async () => {
    const socket = await connect(ALL_SCOPES);
    const errors: RequestError[] = [];
    socket.on('request:error', (error) => errors.push(error));
    const received: string[] = [];
    socket.onAny((event) => received.push(event));
    let sent = 0;
    for (const [event, cases] of Object.entries(malformed)) {
      for (const { name, args } of cases) {
        const ack = await raw(socket)
          .timeout(5_000)
          .emitWithAck(event, ...args);
        sent++;
        expect(ack, `${event} with ${name}`).toMatchObject({
          ok: false,
          event,
          code: 'BAD_REQUEST',
          message: expect.any(String),
        });
      }
    }
    // Without an acknowledgement the refusal still arrives as request:error.
    raw(socket).emit('request:websites', { lastEventId: 'nope' });
    sent++;
    expect(await eventually(() => errors.length === sent, 5_000)).toBe(true);
    expect(errors.every((e) => e.code === 'BAD_REQUEST')).toBe(true);
    expect(errors.at(-1)).toMatchObject({
      event: 'request:websites',
      fields: [expect.objectContaining({ path: 'lastEventId' })],
    });
    // Nothing was joined or sent besides the refusals.
    expect(received.filter((event) => event !== 'request:error')).toEqual([]);

    // The socket and the gateway still work.
    expect(socket.connected).toBe(true);
    expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
    expect((await fetch(`${world.gateway.url}/healthz`)).status).toBe(200);
  });

  it('unknown events - and push events from a browser, are refused and reach nobody', async () => {
    const sender = await connect(ALL_SCOPES);
    const bystander = await connect(ALL_SCOPES);
    const bystanderGot: string[] = [];
    bystander.onAny((event) => bystanderGot.push(event));
    for (const event of ['push:notice', 'websites:update', 'connected', 'no-such-event']) {
      const ack = await raw(sender).timeout(5_000).emitWithAck(event, { data: 1 });
      expect(ack, event).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bystanderGot).toEqual([]);
    expect(sender.connected).toBe(true);
  });

  it('size limit - a message over the size limit closes that connection only', async () => {
    const big = await connect(ALL_SCOPES);
    const other = await connect(ALL_SCOPES);
    const gone = new Promise<string>((resolve) => big.once('disconnect', resolve));
    raw(big).emit('auth:refresh', { token: 'x'.repeat(100_000) });
    expect(await gone).toBe('transport close');
    expect(await other.emitWithAck('request:websites', {})).toEqual({ ok: true });
  });

  it('scopes - rooms are checked against the token: websites:read, nodes:read, nodes:read:<cluster>', async () => {
    const none = await connect([]);
    expect(await none.emitWithAck('request:websites', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await none.emitWithAck('subscribe:nodes', { cluster: 'prod' })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });

    cache.set('prod', 0, [nodeView('n1')]);
    cache.set('staging', 0, [nodeView('s1')]);
    const prodOnly = await connect([SCOPES.nodesReadCluster('prod')]);
    expect(await prodOnly.emitWithAck('subscribe:nodes', { cluster: 'prod' })).toEqual({ ok: true });
    expect(await prodOnly.emitWithAck('subscribe:nodes', { cluster: 'staging' })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });
    expect(await prodOnly.emitWithAck('request:websites', {})).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });

    // A refreshed token with narrower scopes takes the socket out of the rooms it may no longer read.
    const narrowed = await connectSocket(world.gateway.url, testToken('narrow', ALL_SCOPES));
    sockets.push(narrowed);
    expect(await narrowed.emitWithAck('request:websites', {})).toEqual({ ok: true });
    const updates: number[] = [];
    narrowed.on('websites:update', (u) => updates.push(u.eventId));
    expect(
      await narrowed.emitWithAck('auth:refresh', { token: testToken('narrow', [SCOPES.nodesRead]) }),
    ).toEqual({ ok: true });
    await world.createWebsite();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(updates).toEqual([]);
  });

  it('rate limit - events beyond the per-socket budget answer RATE_LIMITED without doing work', async () => {
    const socket = await connect(ALL_SCOPES, rateLimited.url);
    const answers = [];
    for (let i = 0; i < RATE_LIMIT_EVENTS + 3; i++)
      answers.push(await socket.emitWithAck('unsubscribe:nodes', { cluster: 'prod' }));
    expect(answers.slice(0, RATE_LIMIT_EVENTS)).toEqual(Array(RATE_LIMIT_EVENTS).fill({ ok: true }));
    for (const answer of answers.slice(RATE_LIMIT_EVENTS))
      expect(answer).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    // Another socket has its own budget.
    const other = await connect(ALL_SCOPES, rateLimited.url);
    expect(await other.emitWithAck('unsubscribe:nodes', { cluster: 'prod' })).toEqual({ ok: true });
  });

  it('nodes - subscribe:nodes gives nodes:initial then live nodes:update from the bus, resume replays, unsubscribe stops', async () => {
    const bus = await world.stack.bus();
    // Event ids are contiguous per cluster, as the informer numbers them.
    const lastIds = new Map<string, number>();
    const publish = async (cluster: string, name: string, labels: Record<string, string>) => {
      const eventId = (lastIds.get(cluster) ?? 0) + 1;
      lastIds.set(cluster, eventId);
      await bus.publish(
        subjects.node(cluster, 'updated'),
        {
          eventId,
          topic: 'nodes',
          type: 'updated',
          occurredAt: new Date().toISOString(),
          schemaVersion: SCHEMA_VERSION,
          data: { cluster, name, node: nodeView(name, labels), changed: ['labels'] },
        },
        { msgId: `${cluster}-${eventId}`, key: cluster },
      );
      return eventId;
    };
    cache.set('blue', 0, [nodeView('b1')]);
    const socket = await connect([SCOPES.nodesReadCluster('blue')]);
    const initials: unknown[] = [];
    const updates: { cluster: string; eventId: number; changed: string[] }[] = [];
    socket.on('nodes:initial', (m) => initials.push(m));
    socket.on('nodes:update', (m) =>
      updates.push({ cluster: m.cluster, eventId: m.eventId, changed: m.changed }),
    );
    expect(await socket.emitWithAck('subscribe:nodes', { cluster: 'blue' })).toEqual({ ok: true });
    expect(initials).toEqual([{ cluster: 'blue', items: [nodeView('b1')], total: 1, lastEventId: 0 }]);

    await publish('blue', 'b1', { zone: 'a' });
    await publish('green', 'g1', { zone: 'b' });
    await publish('blue', 'b1', { zone: 'c' });
    expect(await eventually(() => updates.length === 2, 10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(updates).toEqual([
      { cluster: 'blue', eventId: 1, changed: ['labels'] },
      { cluster: 'blue', eventId: 2, changed: ['labels'] },
    ]);

    // Resume from 1: the cache's replay is forwarded as updates.
    cache.replayAnswer = {
      kind: 'events',
      updates: [
        {
          cluster: 'blue',
          eventId: 2,
          type: 'updated',
          data: nodeView('b1', { zone: 'c' }),
          changed: ['labels'],
        },
      ],
    };
    const resumed = await connect([SCOPES.nodesRead]);
    const resumedUpdates: number[] = [];
    resumed.on('nodes:update', (m) => resumedUpdates.push(m.eventId));
    expect(await resumed.emitWithAck('subscribe:nodes', { cluster: 'blue', lastEventId: 1 })).toEqual({
      ok: true,
    });
    expect(resumedUpdates).toEqual([2]);
    expect(cache.replays.at(-1)).toEqual({ cluster: 'blue', request: { after: { eventId: 1 }, limit: 500 } });

    expect(await socket.emitWithAck('unsubscribe:nodes', { cluster: 'blue' })).toEqual({ ok: true });
    await publish('blue', 'b1', { zone: 'd' });
    expect(await eventually(() => resumedUpdates.length === 2, 10_000)).toBe(true);
    expect(updates).toHaveLength(2);

    // An unknown cluster is a clear error.
    expect(await resumed.emitWithAck('subscribe:nodes', { cluster: 'nowhere' })).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });
  });
});

import { SCOPES } from '@tideline/auth';
import type { WebsitesInitial, WebsitesUpdate } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPushGateway } from '../src/service.ts';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { WebsitesReplica } from './support/replica.ts';
import { World } from './support/world.ts';

const DELIVERY_TIMEOUT_MS = 10_000;
const SMALL_REPLAY_LIMIT = 5;
const reader = () => testToken(`reader-${Math.random().toString(36).slice(2, 8)}`, [SCOPES.websitesRead]);

let world: World;
/** A second gateway of the same world whose replay limit is small, for the limit tests. */
let limited: RunningPushGateway;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await World.start();
  limited = await world.addGateway({ TIDELINE_GATEWAY_REPLAY_LIMIT: String(SMALL_REPLAY_LIMIT) });
  for (let i = 0; i < 12; i++) await world.createWebsite({ https_enabled: i % 2 === 0 });
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
});

/** A connected client holding a replica, synced (initial or replay) through `request:websites`. */
async function client(url = world.gateway.url, replica = new WebsitesReplica()) {
  const socket = await connectSocket(url, reader());
  sockets.push(socket);
  replica.attach(socket);
  const ack = await socket.emitWithAck('request:websites', replica.request());
  expect(ack).toEqual({ ok: true });
  return { socket, replica };
}

async function until(predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  if (!(await eventually(predicate, DELIVERY_TIMEOUT_MS))) throw new Error(`timed out waiting for ${what}`);
}

describe('websites', () => {
  it('initial - request:websites answers websites:initial with the seeded items, total, version and lastEventId', async () => {
    const socket = await connectSocket(world.gateway.url, reader());
    sockets.push(socket);
    const initial = new Promise<WebsitesInitial>((resolve) => socket.once('websites:initial', resolve));
    expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
    const message = await initial;
    const database = await world.databaseList();
    expect(message.total).toBe(12);
    expect(message.items).toHaveLength(12);
    expect([...message.items].sort((a, b) => a.website_id - b.website_id)).toEqual(database);
    expect(message.lastEventId).toBe(await world.lastEventId());
    expect(message.version).toEqual(expect.any(String));
  });

  it('request:websites - no payload, null and {} each answer websites:initial', async () => {
    const lastEventId = await world.lastEventId();
    const raw = (socket: TestSocket) => socket as unknown as Socket;
    for (const args of [[], [null], [{}]] as unknown[][]) {
      // One socket each: a socket asking for snapshots again and again is rate limited.
      const socket = await connectSocket(world.gateway.url, reader());
      sockets.push(socket);
      const initial = new Promise<WebsitesInitial>((resolve) => socket.once('websites:initial', resolve));
      const ack = await raw(socket)
        .timeout(DELIVERY_TIMEOUT_MS)
        .emitWithAck('request:websites', ...args);
      expect(ack, JSON.stringify(args)).toEqual({ ok: true });
      const message = await initial;
      expect(message.items).toHaveLength(12);
      expect(message.lastEventId).toBe(lastEventId);
    }
    // Without an acknowledgement callback too: a bare emit is answered with the snapshot.
    const bare = await connectSocket(world.gateway.url, reader());
    sockets.push(bare);
    const initial = new Promise<WebsitesInitial>((resolve) => bare.once('websites:initial', resolve));
    raw(bare).emit('request:websites');
    expect((await initial).total).toBe(12);
  });

  it('live - create, update, delete over HTTP reach every connected client as add, update, delete with the logged eventId', async () => {
    const clients = await Promise.all([client(), client(), client(limited.url)]);
    const before = await world.lastEventId();
    expect(clients.every((c) => c.replica.lastEventId === before)).toBe(true);

    const created = await world.createWebsite();
    const updated = await world.updateWebsite(created.website_id, {
      https_enabled: !created.https_enabled,
      status: 'paused',
    });
    await world.deleteWebsite(created.website_id);
    const logged = await world.eventIdsAfter(before);
    expect(logged).toEqual([before + 1, before + 2, before + 3]);

    await until(() => clients.every((c) => c.replica.updates.length === 3), 'three updates on every client');
    const expected: WebsitesUpdate[] = [
      { eventId: before + 1, type: 'add', data: created },
      { eventId: before + 2, type: 'update', data: updated },
      { eventId: before + 3, type: 'delete', data: { website_id: created.website_id } },
    ];
    for (const { replica } of clients) {
      expect(replica.updates).toEqual(expected);
      expect(replica.violations).toEqual([]);
      expect(replica.list()).toEqual(await world.databaseList());
    }
  });

  it('resume - from a lastEventId a few events back: exactly the missed events, in order, no initial', async () => {
    const { socket, replica } = await client();
    const from = replica.lastEventId;
    socket.disconnect();
    const missed = [await world.createWebsite(), await world.createWebsite()];
    await world.updateWebsite(missed[0]!.website_id, { status: 'paused' });
    await world.deleteWebsite(missed[1]!.website_id);

    const resumed = await client(world.gateway.url, replica);
    expect(replica.initials).toHaveLength(1);
    expect(replica.updates.map((u) => [u.eventId, u.type])).toEqual([
      [from + 1, 'add'],
      [from + 2, 'add'],
      [from + 3, 'update'],
      [from + 4, 'delete'],
    ]);
    expect(replica.violations).toEqual([]);
    expect(replica.list()).toEqual(await world.databaseList());

    // And it is live again, without a duplicate of what the replay already sent.
    const next = await world.createWebsite();
    await until(() => replica.items.has(next.website_id), 'the next live update');
    expect(replica.updates.map((u) => u.eventId)).toEqual([from + 1, from + 2, from + 3, from + 4, from + 5]);
    resumed.socket.disconnect();
  });

  it(`resume - from more than the replay limit back (${SMALL_REPLAY_LIMIT}) answers one websites:initial; at the limit, updates`, async () => {
    const atLimit = await client(limited.url);
    const beyond = await client(limited.url);
    atLimit.socket.disconnect();
    beyond.socket.disconnect();
    for (let i = 0; i < SMALL_REPLAY_LIMIT; i++) await world.createWebsite();
    const atLimitResumed = await client(limited.url, atLimit.replica);
    expect(atLimit.replica.initials).toHaveLength(1);
    expect(atLimit.replica.updates).toHaveLength(SMALL_REPLAY_LIMIT);
    expect(atLimit.replica.list()).toEqual(await world.databaseList());

    await world.createWebsite();
    const beyondFrom = beyond.replica.lastEventId;
    expect((await world.lastEventId()) - beyondFrom).toBe(SMALL_REPLAY_LIMIT + 1);
    const beyondResumed = await client(limited.url, beyond.replica);
    expect(beyond.replica.initials).toHaveLength(2);
    expect(beyond.replica.updates).toEqual([]);
    expect(beyond.replica.lastEventId).toBe(await world.lastEventId());
    expect(beyond.replica.list()).toEqual(await world.databaseList());
    atLimitResumed.socket.disconnect();
    beyondResumed.socket.disconnect();
  });

  it('snapshot race - 12 clients joining during 150 live writes each end exact, once, in order (invariant 3)', async () => {
    const writes = (async () => {
      for (let i = 0; i < 150; i++) {
        const site = await world.createWebsite();
        if (i % 3 === 0) await world.updateWebsite(site.website_id, { status: 'paused' });
      }
    })();
    const clients: Awaited<ReturnType<typeof client>>[] = [];
    for (let i = 0; i < 12; i++) {
      clients.push(await client(i % 2 === 0 ? world.gateway.url : limited.url));
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await writes;
    const last = await world.lastEventId();
    await until(() => clients.every((c) => c.replica.lastEventId === last), 'every client at the last event');
    const database = await world.databaseList();
    for (const { replica } of clients) {
      expect(replica.violations).toEqual([]);
      const first = replica.initials[0]!.lastEventId;
      expect(replica.updates.map((u) => u.eventId)).toEqual(
        Array.from({ length: last - first }, (_, i) => first + 1 + i),
      );
      expect(replica.list()).toEqual(database);
    }
  });

  it('fallback - future, other-epoch and purged lastEventIds answer websites:initial', async () => {
    const last = await world.lastEventId();
    const cases = [
      { name: 'future', request: { lastEventId: last + 1_000 } },
      { name: 'other epoch', request: { lastEventId: last, version: 'an-epoch-that-never-was' } },
    ];
    for (const { name, request } of cases) {
      const socket = await connectSocket(world.gateway.url, reader());
      sockets.push(socket);
      const received: string[] = [];
      socket.on('websites:update', () => received.push('update'));
      const initial = new Promise<WebsitesInitial>((resolve) => socket.once('websites:initial', resolve));
      expect(await socket.emitWithAck('request:websites', request), name).toEqual({ ok: true });
      expect((await initial).lastEventId, name).toBe(last);
      expect(received, name).toEqual([]);
    }

    const purged = await world.api.eventLog.purgeOnce({
      maxAgeSeconds: 315_360_000,
      maxRows: 2,
      batchRows: 100_000,
    });
    expect(purged).toBeGreaterThan(0);
    const socket = await connectSocket(world.gateway.url, reader());
    sockets.push(socket);
    const initial = new Promise<WebsitesInitial>((resolve) => socket.once('websites:initial', resolve));
    expect(await socket.emitWithAck('request:websites', { lastEventId: 1 })).toEqual({ ok: true });
    const message = await initial;
    expect(message.lastEventId).toBe(last);
    expect([...message.items].sort((a, b) => a.website_id - b.website_id)).toEqual(
      await world.databaseList(),
    );

    const metrics = await (await fetch(`${world.gateway.url}/metrics`)).text();
    for (const reason of ['future', 'other-version', 'purged']) {
      expect(metrics).toMatch(
        new RegExp(
          `tideline_gateway_syncs_total\\{feed="websites",mode="snapshot",reason="${reason}"[^}]*\\} [1-9]`,
        ),
      );
    }
    expect(metrics).toMatch(
      /tideline_gateway_syncs_total\{feed="websites",mode="replay",reason="requested"[^}]*\} [1-9]/,
    );
  });
});

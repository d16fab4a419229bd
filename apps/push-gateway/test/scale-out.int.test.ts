import { SCOPES } from '@tideline/auth';
import { publishPush } from '@tideline/bus';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { WebsitesReplica } from './support/replica.ts';
import { World } from './support/world.ts';

const EVENTS = 1_000;
const WRITERS = 8;
const CLIENTS_PER_GATEWAY = 10;

let world: World;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await World.start({ gateways: 2 });
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
});

async function connect(
  url: string,
  uid: string,
  scopes: string[] = [SCOPES.websitesRead],
): Promise<TestSocket> {
  const socket = await connectSocket(url, testToken(uid, scopes));
  sockets.push(socket);
  return socket;
}

describe('scale-out', () => {
  it(`two gateways - ${WRITERS} concurrent writers, ${EVENTS} events: every client on both gets every event once, in order`, async () => {
    for (let i = 0; i < 20; i++) await world.createWebsite();
    const clients: { replica: WebsitesReplica; gateway: number }[] = [];
    for (const [index, gateway] of world.gateways.entries()) {
      for (let i = 0; i < CLIENTS_PER_GATEWAY; i++) {
        const socket = await connect(gateway.url, `u${index}-${i}`);
        const replica = new WebsitesReplica();
        replica.attach(socket);
        expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
        clients.push({ replica, gateway: index });
      }
    }
    const start = await world.lastEventId();
    expect(clients.every((c) => c.replica.lastEventId === start)).toBe(true);

    // WRITERS loops share the budget of EVENTS changes: creates, updates and deletes interleaved.
    let budget = EVENTS;
    const writer = async () => {
      const mine = new Map<number, boolean>();
      while (budget > 0) {
        budget--;
        const ids = [...mine.keys()];
        const roll = ids.length === 0 ? 0 : budget % 3;
        if (roll === 0) {
          const site = await world.createWebsite();
          mine.set(site.website_id, site.https_enabled);
        } else if (roll === 1) {
          const id = ids[budget % ids.length]!;
          mine.set(id, !mine.get(id));
          await world.updateWebsite(id, { https_enabled: mine.get(id)! });
        } else {
          const id = ids[budget % ids.length]!;
          mine.delete(id);
          await world.deleteWebsite(id);
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: WRITERS }, writer));
    const writtenMs = Math.round(performance.now() - started);
    const end = await world.lastEventId();
    expect(end - start).toBe(EVENTS);
    expect(await world.eventIdsAfter(start)).toEqual(Array.from({ length: EVENTS }, (_, i) => start + 1 + i));

    const delivered = await eventually(() => clients.every((c) => c.replica.lastEventId === end), 30_000, 50);
    const elapsedMs = Math.round(performance.now() - started);
    expect(delivered, `not every client reached ${end} in time`).toBe(true);
    const database = await world.databaseList();
    const expectedIds = Array.from({ length: EVENTS }, (_, i) => start + 1 + i);
    for (const { replica, gateway } of clients) {
      expect(replica.violations, `client on gateway ${gateway}`).toEqual([]);
      expect(replica.initials).toHaveLength(1);
      expect(replica.updates.map((u) => u.eventId)).toEqual(expectedIds);
      expect(replica.list()).toEqual(database);
    }
    console.info(
      `[test 11] ${EVENTS} events written in ${writtenMs} ms; ${clients.length} clients on 2 gateways had all of them after ${elapsedMs} ms`,
    );
  });

  it('push - a targeted push reaches every socket of that user on both gateways once, and nobody else', async () => {
    const [a, b] = world.gateways;
    const alice = [
      await connect(a!.url, 'alice'),
      await connect(a!.url, 'alice'),
      await connect(b!.url, 'alice'),
    ];
    const others = [
      await connect(a!.url, 'bob'),
      await connect(b!.url, 'bob'),
      await connect(b!.url, 'alice-2'),
    ];
    const got = new Map<TestSocket, unknown[]>();
    for (const socket of [...alice, ...others]) {
      got.set(socket, []);
      socket.on('push:notice', (data) => got.get(socket)!.push(data));
    }
    const bus = await world.stack.bus();
    await publishPush(bus, {
      target: { kind: 'user', uid: 'alice' },
      event: 'push:notice',
      data: { text: 'for alice', n: 1 },
    });
    expect(await eventually(() => alice.every((s) => got.get(s)!.length >= 1), 10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const socket of alice) expect(got.get(socket)).toEqual([{ text: 'for alice', n: 1 }]);
    for (const socket of others) expect(got.get(socket)).toEqual([]);

    // A room push reaches the sockets of that room on both gateways (here: those following websites).
    const inRoom = [await connect(a!.url, 'carol'), await connect(b!.url, 'dave')];
    for (const socket of inRoom)
      expect(await socket.emitWithAck('request:websites', {})).toEqual({ ok: true });
    const banners = new Map<TestSocket, unknown[]>();
    for (const socket of [...inRoom, ...alice]) {
      banners.set(socket, []);
      socket.on('push:banner', (data) => banners.get(socket)!.push(data));
    }
    await publishPush(bus, {
      target: { kind: 'room', room: 'websites' },
      event: 'push:banner',
      data: 'maintenance at 18:00',
    });
    expect(await eventually(() => inRoom.every((s) => banners.get(s)!.length >= 1), 10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const socket of inRoom) expect(banners.get(socket)).toEqual(['maintenance at 18:00']);
    for (const socket of alice) expect(banners.get(socket)).toEqual([]);

    const metrics = (
      await Promise.all(world.gateways.map(async (g) => (await fetch(`${g.url}/metrics`)).text()))
    ).join('\n');
    const sent = [
      ...metrics.matchAll(
        /tideline_gateway_pushes_total\{target_kind="(user|room)",outcome="sent"[^}]*\} (\d+)/g,
      ),
    ];
    // Each gateway reads every push and counts what it sent to its own sockets: 2 pushes × 2 gateways.
    expect(sent.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(4);
  });
});

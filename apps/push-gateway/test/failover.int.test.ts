import { SCOPES } from '@tideline/auth';
import type { ReconnectMessage } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, openSocket, refused, retryWhenUnavailable, type TestSocket } from './support/client.ts';
import { FailoverProxy } from './support/proxies.ts';
import { WebsitesReplica } from './support/replica.ts';
import type { GatewayProcess } from './support/stack.ts';
import { World } from './support/world.ts';

const CLIENTS = 12;
const EVENTS = 300;
const DRAIN_GRACE_MS = 1_000;

let world: World;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await World.start({ gateways: 0 });
  await world.createWebsite();
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
});

/**
 * A client as the SDK behaves: reconnects on its own and, on every connect, asks for what it
 * missed since its lastEventId (or a snapshot when it holds nothing yet).
 */
function resumingClient(url: string, uid: string) {
  const socket = openSocket(url, testToken(uid, [SCOPES.websitesRead]), { reconnection: true });
  sockets.push(socket);
  const replica = new WebsitesReplica();
  replica.attach(socket);
  retryWhenUnavailable(socket);
  const state = { connects: 0, synced: 0, reconnectMessages: [] as ReconnectMessage[] };
  socket.on('connected', () => {
    state.connects++;
    // A request still unanswered when the socket goes away (a drain, or closeAll at the end) is
    // rejected by socket.io-client; the next connect asks again, as the SDK does.
    void socket.emitWithAck('request:websites', replica.request()).then(
      (ack) => {
        if (ack.ok) state.synced++;
      },
      () => undefined,
    );
  });
  socket.on('server:reconnect', (message) => state.reconnectMessages.push(message));
  return { socket, replica, state };
}

/** Writes `count` changes with `writers` concurrent loops; calls `at(n)` after the n-th one. */
async function write(count: number, writers: number, at: (written: number) => void): Promise<void> {
  let budget = count;
  let written = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      const mine: number[] = [];
      while (budget > 0) {
        budget--;
        if (mine.length > 0 && budget % 4 === 0) await world.deleteWebsite(mine.pop()!);
        else mine.push((await world.createWebsite()).website_id);
        at(++written);
      }
    }),
  );
}

async function allCaughtUp(clients: ReturnType<typeof resumingClient>[], timeoutMs: number): Promise<number> {
  const last = await world.lastEventId();
  const ok = await eventually(() => clients.every((c) => c.replica.lastEventId === last), timeoutMs, 50);
  if (!ok) {
    const behind = clients.filter((c) => c.replica.lastEventId !== last).map((c) => c.replica.lastEventId);
    throw new Error(`clients did not catch up to ${last}: ${behind.join(', ')}`);
  }
  return last;
}

describe('failover', () => {
  let first: GatewayProcess;
  let second: GatewayProcess;

  it('kill -9 - one gateway dies mid-stream: its clients reconnect to the other and end with exactly the database list', async () => {
    [first, second] = await Promise.all([
      world.stack.gatewayProcess(world.gatewayEnv()),
      world.stack.gatewayProcess(world.gatewayEnv()),
    ]);
    await using balancer = await FailoverProxy.to(() => [first.port, second.port]);
    const clients = Array.from({ length: CLIENTS }, (_, i) => resumingClient(balancer.url, `k${i}`));
    expect(await eventually(() => clients.every((c) => c.state.synced === 1), 15_000)).toBe(true);
    const start = clients[0]!.replica.lastEventId;

    let killedAt = 0;
    await write(EVENTS, 4, (written) => {
      if (written === EVENTS / 3) {
        first.kill('SIGKILL');
        killedAt = written;
      }
    });
    expect(killedAt).toBe(EVENTS / 3);
    expect(await first.exited).toBeNull();

    const last = await allCaughtUp(clients, 20_000);
    const database = await world.databaseList();
    for (const { replica, state } of clients) {
      expect(state.connects).toBe(2);
      expect(replica.violations).toEqual([]);
      // Resumed by replay: one initial ever, and every event exactly once across both gateways.
      expect(replica.initials).toHaveLength(1);
      expect(replica.updates.map((u) => u.eventId)).toEqual(
        Array.from({ length: last - start }, (_, i) => start + 1 + i),
      );
      expect(replica.list()).toEqual(database);
    }
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`tideline_gateway_connected_sockets\\{[^}]*\\} ${CLIENTS}\\b`));
  });

  it('SIGTERM - drains: not ready, new sockets refused, server:reconnect, clients resume on the other gateway, exit 0 (invariant 9)', async () => {
    // `second` holds every client now; a fresh gateway takes them when it drains.
    const third = await world.stack.gatewayProcess(
      world.gatewayEnv({ TIDELINE_GATEWAY_DRAIN_GRACE_MS: String(DRAIN_GRACE_MS) }),
    );
    await using balancer = await FailoverProxy.to(() => [third.port, second.port]);
    const clients = Array.from({ length: 4 }, (_, i) => resumingClient(balancer.url, `t${i}`));
    expect(await eventually(() => clients.every((c) => c.state.synced === 1), 15_000)).toBe(true);

    const writing = write(60, 2, () => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    third.kill('SIGTERM');
    expect(await eventually(async () => (await fetch(`${third.url}/readyz`)).status === 503, 2_000, 20)).toBe(
      true,
    );
    const late = openSocket(third.url, testToken('late', [SCOPES.websitesRead]));
    sockets.push(late);
    expect((await refused(late)).data).toEqual({ code: 'UNAVAILABLE' });
    expect(await third.exited).toBe(0);
    await writing;

    // A client may hold every event before the drain reached it: it is caught up at once, yet
    // reconnects only after its retryAfterMs. Wait for each to be synced on the other gateway.
    expect(await eventually(() => clients.every((c) => c.state.synced >= 2), 20_000)).toBe(true);
    await allCaughtUp(clients, 20_000);
    const database = await world.databaseList();
    for (const { replica, state } of clients) {
      expect(state.reconnectMessages).toEqual([{ reason: 'draining', retryAfterMs: expect.any(Number) }]);
      expect(state.connects).toBe(2);
      expect(replica.violations).toEqual([]);
      expect(replica.initials).toHaveLength(1);
      expect(replica.list()).toEqual(database);
    }
    const log = third.lines.join('\n');
    for (const step of ['stop accepting', 'consumers', 'socket.io', 'bus'])
      expect(log).toContain(`"step":"${step}"`);
  });
});

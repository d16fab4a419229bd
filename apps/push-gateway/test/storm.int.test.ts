import { SCOPES } from '@tideline/auth';
import { INTERNAL_PATHS } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, openSocket, retryWhenUnavailable, type TestSocket } from './support/client.ts';
import { FailoverProxy } from './support/proxies.ts';
import { WebsitesReplica } from './support/replica.ts';
import type { GatewayProcess } from './support/stack.ts';
import { World } from './support/world.ts';

const SOCKETS = 1_000;
const CONNECT_BATCH = 100;
const WRITES_DURING_STORM = 30;

let world: World;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await World.start({ gateways: 0 });
  for (let i = 0; i < 50; i++) await world.createWebsite();
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
});

interface StormClient {
  socket: TestSocket;
  replica: WebsitesReplica;
  /** lastEventId at the moment of each disconnect. */
  leftAt: number[];
  synced: number;
  failed: number;
}

function stormClient(url: string, uid: string): StormClient {
  const socket = openSocket(url, testToken(uid, [SCOPES.websitesRead]), {
    reconnection: true,
    timeoutMs: 30_000,
  });
  sockets.push(socket);
  const client: StormClient = { socket, replica: new WebsitesReplica(), leftAt: [], synced: 0, failed: 0 };
  client.replica.attach(socket);
  retryWhenUnavailable(socket);
  socket.on('connected', () => {
    void socket
      .timeout(30_000)
      .emitWithAck('request:websites', client.replica.request())
      .then(
        (ack) => (ack.ok ? client.synced++ : client.failed++),
        () => client.failed++,
      );
  });
  socket.on('disconnect', () => client.leftAt.push(client.replica.lastEventId));
  return client;
}

const snapshotQueries = () => world.proxy.count(INTERNAL_PATHS.websitesSnapshot);
const replayQueries = () => world.proxy.count(INTERNAL_PATHS.websitesEvents);
/** Resumes carry the client's `version`; the gateway's own gap repairs do not. */
const resumeQueries = () => world.proxy.count(INTERNAL_PATHS.websitesEvents, (query) => query.has('version'));

describe('storms', () => {
  let first: GatewayProcess;
  let second: GatewayProcess;

  it(`storm - ${SOCKETS} sockets asking for the list at once: one snapshot query reaches website-api; a reconnect storm replays with a bounded number of queries`, async () => {
    const env = world.gatewayEnv({
      // A snapshot stays reusable for the whole storm as long as no newer event arrived.
      TIDELINE_GATEWAY_SNAPSHOT_REUSE_MS: '60000',
      TIDELINE_GATEWAY_DRAIN_GRACE_MS: '200',
      TIDELINE_GATEWAY_RECONNECT_JITTER_MS: '500',
      TIDELINE_GATEWAY_PING_TIMEOUT_MS: '30000',
    });
    [first, second] = await Promise.all([world.stack.gatewayProcess(env), world.stack.gatewayProcess(env)]);
    await using balancer = await FailoverProxy.to(() => [first.port, second.port]);
    world.proxy.reset();

    // Storm 1: every socket connects and asks for a snapshot at about the same time.
    const startedConnecting = performance.now();
    const clients: StormClient[] = [];
    for (let i = 0; i < SOCKETS; i += CONNECT_BATCH) {
      for (let j = i; j < Math.min(SOCKETS, i + CONNECT_BATCH); j++)
        clients.push(stormClient(balancer.url, `s${j}`));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await eventually(() => clients.every((c) => c.synced === 1), 60_000, 50)).toBe(true);
    const stormOneMs = Math.round(performance.now() - startedConnecting);
    const database = await world.databaseList();
    const lastEventId = await world.lastEventId();
    for (const c of clients) {
      expect(c.replica.initials).toHaveLength(1);
      expect(c.replica.lastEventId).toBe(lastEventId);
      expect(c.replica.list()).toEqual(database);
    }
    expect(snapshotQueries()).toBe(1);
    expect(replayQueries()).toBe(0);

    // Storm 2: the gateway holding them all drains while writes go on; everyone resumes on the other one.
    world.proxy.reset();
    let written = 0;
    const writing = (async () => {
      for (; written < WRITES_DURING_STORM; written++) {
        await world.createWebsite();
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const startedDraining = performance.now();
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await writing;
    const last = await world.lastEventId();
    const caughtUp = await eventually(
      () => clients.every((c) => c.synced === 2 && c.replica.lastEventId === last),
      60_000,
      50,
    );
    const stormTwoMs = Math.round(performance.now() - startedDraining);
    expect(caughtUp, `${clients.filter((c) => c.replica.lastEventId !== last).length} clients behind`).toBe(
      true,
    );

    const finalList = await world.databaseList();
    for (const c of clients) {
      expect(c.failed).toBe(0);
      expect(c.replica.violations).toEqual([]);
      expect(c.replica.initials).toHaveLength(1);
      expect(c.replica.list()).toEqual(finalList);
    }
    // Each distinct resume position takes at least one replay query; the resumes share the query in
    // flight (an older answer is never handed to a later joiner).
    const positions = new Set(clients.map((c) => c.leftAt[0]!)).size;
    const resumes = resumeQueries();
    const repairs = replayQueries() - resumes;
    console.info(
      `[test 15] storm 1: ${SOCKETS} snapshots in ${stormOneMs} ms with 1 query; ` +
        `storm 2: ${SOCKETS} resumes from ${positions} positions in ${stormTwoMs} ms with ${resumes} replay queries ` +
        `(+${repairs} for gap repairs) and ${snapshotQueries()} snapshot queries while ${WRITES_DURING_STORM} writes went on`,
    );
    expect(snapshotQueries()).toBe(0);
    // At least one replay query per resume position, and far fewer than sockets: the resumes share
    // the query in flight. (A resume arriving after a query finished starts the next one even when no
    // event came in between, so the count depends on how the reconnects spread over time: 27 and 33
    // for 1 position and 30 writes in two CI runs; a bound in events alone does not hold.)
    expect(resumes).toBeGreaterThanOrEqual(positions);
    expect(resumes + repairs).toBeLessThanOrEqual(SOCKETS / 20);
  });
});

import { SCOPES } from '@tideline/auth';
import { type EventBus, publishPush } from '@tideline/bus';
import { type Change, connect as connectClient, type TidelineClient } from '@tideline/client';
import { INTERNAL_PATHS, type WebsiteItem } from '@tideline/contracts';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { FakeCache, nodeView } from './support/fake-cache.ts';
import { StallProxy } from './support/proxies.ts';
import { RawClient } from './support/raw-client.ts';
import { World } from './support/world.ts';

/**
 * What one socket can make a gateway spend: snapshots it asks for again and again, and bytes it
 * never reads. Real gateway, website-api, PostgreSQL, NATS and Redis.
 */

const RESNAPSHOT_INTERVAL_MS = 60_000;
const OUTBOUND_LIMIT_BYTES = 262_144;
/** A push this large fills the kernel's socket buffers (a few MiB on loopback) in a few dozen. */
const PUSH_DATA = { blob: 'x'.repeat(65_536) };
/** Bytes of one such push on the wire: Engine.IO `4` + Socket.IO `2` + the JSON array. */
const PUSH_BYTES = 2 + JSON.stringify(['push:blob', PUSH_DATA]).length;
/** Bounds the publishing loops: far more than the kernel buffers and the limit together. */
const MAX_PUSHES = 600;
const WAIT_MS = 30_000;

const cache = new FakeCache();
let world: World;
let bus: EventBus;
const sockets: TestSocket[] = [];
const raws: RawClient[] = [];
const sdks: TidelineClient[] = [];

beforeAll(async () => {
  world = await World.start({
    gatewayEnv: {
      TIDELINE_GATEWAY_RESNAPSHOT_INTERVAL_MS: String(RESNAPSHOT_INTERVAL_MS),
      // Only the snapshot limit refuses here, not the per-socket event budget.
      TIDELINE_GATEWAY_RATE_LIMIT_EVENTS: '1000',
      // Every snapshot served would be a query of its own.
      TIDELINE_GATEWAY_SNAPSHOT_REUSE_MS: '0',
      TIDELINE_GATEWAY_OUTBOUND_QUEUE_LIMIT_BYTES: String(OUTBOUND_LIMIT_BYTES),
      // A stalled client reads its last message within the test; heartbeats never interfere.
      TIDELINE_GATEWAY_SLOW_CONSUMER_CLOSE_GRACE_MS: '60000',
      TIDELINE_GATEWAY_PING_INTERVAL_MS: '60000',
      TIDELINE_GATEWAY_PING_TIMEOUT_MS: '60000',
    },
    gatewayOptions: { nodesSource: cache },
  });
  for (let i = 0; i < 5; i++) await world.createWebsite();
  bus = await world.stack.bus();
});

afterAll(async () => {
  closeAll(sockets);
  for (const raw of raws) raw.close();
  for (const sdk of sdks) sdk.close();
  await world?.[Symbol.asyncDispose]();
});

/** One sample of the gateway's /metrics: `name{labels…}` → value, for lines matching all `labels`. */
async function metric(
  name: string,
  labels: Record<string, string> = {},
  gatewayUrl = world.gateway.url,
): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const slowConsumers = (gatewayUrl = world.gateway.url) =>
  metric('tideline_gateway_disconnects_total', { reason: 'SLOW_CONSUMER' }, gatewayUrl);
const highWater = () => metric('tideline_gateway_outbound_queue_high_water_bytes');

/** Publishes big pushes to `uid` until the gateway has closed one more slow consumer than `before`. */
async function floodUntilSlow(uid: string, before: number, gatewayUrl = world.gateway.url): Promise<number> {
  let published = 0;
  while ((await slowConsumers(gatewayUrl)) === before) {
    if (published >= MAX_PUSHES) throw new Error(`no SLOW_CONSUMER after ${published} pushes`);
    await Promise.all(
      Array.from({ length: 10 }, () =>
        publishPush(bus, { target: { kind: 'user', uid }, event: 'push:blob', data: PUSH_DATA }),
      ),
    );
    published += 10;
  }
  return published;
}

/** Waits until the gateway has handled every push published to users so far. */
async function pushesHandled(total: number): Promise<void> {
  await expect
    .poll(() => metric('tideline_gateway_pushes_total', { target_kind: 'user' }), { timeout: WAIT_MS })
    .toBe(total);
}

describe('what one socket can make the gateway spend', () => {
  it('a socket that re-sends request:websites {} cannot make the gateway serialise a snapshot for it each time', async () => {
    const socket = await connectSocket(
      world.gateway.url,
      testToken('greedy', [SCOPES.websitesRead, SCOPES.nodesRead]),
    );
    sockets.push(socket);
    let initials = 0;
    socket.on('websites:initial', () => initials++);
    const updates: number[] = [];
    socket.on('websites:update', (update) => updates.push(update.eventId));
    world.proxy.reset();
    const serialisedBefore = await metric('tideline_gateway_emits_total', { event: 'websites:initial' });

    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await socket.emitWithAck('request:websites', {}));
    // A position the log cannot replay from (another epoch) would be a snapshot too.
    const last = await world.lastEventId();
    answers.push(
      await socket.emitWithAck('request:websites', { lastEventId: last, version: 'no-such-epoch' }),
    );

    expect(answers[0]).toEqual({ ok: true });
    for (const answer of answers.slice(1)) {
      expect(answer).toMatchObject({ ok: false, event: 'request:websites', code: 'RATE_LIMITED' });
      const retryAfterMs = (answer as { retryAfterMs?: number }).retryAfterMs;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(RESNAPSHOT_INTERVAL_MS);
    }
    expect(initials).toBe(1);
    expect(
      (await metric('tideline_gateway_emits_total', { event: 'websites:initial' })) - serialisedBefore,
    ).toBe(1);
    expect(world.proxy.count(INTERNAL_PATHS.websitesSnapshot)).toBe(1);

    // Refused, it is still live: the next change reaches it, once.
    await world.createWebsite();
    const now = await world.lastEventId();
    expect(await eventually(() => updates.includes(now), 10_000)).toBe(true);
    expect(updates).toEqual([now]);

    // The same for a cluster's nodes, also across unsubscribe and subscribe again.
    cache.set('greedy-cluster', 0, [nodeView('n1')]);
    let nodeInitials = 0;
    socket.on('nodes:initial', () => nodeInitials++);
    expect(await socket.emitWithAck('subscribe:nodes', { cluster: 'greedy-cluster' })).toEqual({ ok: true });
    expect(await socket.emitWithAck('subscribe:nodes', { cluster: 'greedy-cluster' })).toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect(await socket.emitWithAck('unsubscribe:nodes', { cluster: 'greedy-cluster' })).toEqual({
      ok: true,
    });
    expect(await socket.emitWithAck('subscribe:nodes', { cluster: 'greedy-cluster' })).toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect(nodeInitials).toBe(1);

    // Another socket is not limited by it.
    const other = await connectSocket(world.gateway.url, testToken('modest', [SCOPES.websitesRead]));
    sockets.push(other);
    expect(await other.emitWithAck('request:websites', {})).toEqual({ ok: true });
  });

  it("a client that stops reading is disconnected with SLOW_CONSUMER and the server's memory stays bounded", async () => {
    await using stall = await StallProxy.to(Number(new URL(world.gateway.url).port));
    const raw = await RawClient.connect(stall.url, testToken('stops-reading', [SCOPES.websitesRead]));
    raws.push(raw);
    expect(await raw.emitWithAck('request:websites', {})).toEqual({ ok: true });
    const before = await slowConsumers();
    const connected = await metric('tideline_gateway_connected_sockets');

    stall.stall();
    let published = await floodUntilSlow('stops-reading', before);
    expect(await slowConsumers()).toBe(before + 1);
    // What waited for it never passed the limit by more than the one message that overflowed it.
    const peak = await highWater();
    expect(peak).toBeGreaterThan(OUTBOUND_LIMIT_BYTES);
    expect(peak).toBeLessThanOrEqual(OUTBOUND_LIMIT_BYTES + PUSH_BYTES);

    // Pushes keep coming for it: nothing more is queued for it.
    for (let i = 0; i < 20; i++)
      await publishPush(bus, {
        target: { kind: 'user', uid: 'stops-reading' },
        event: 'push:blob',
        data: PUSH_DATA,
      });
    published += 20;
    await pushesHandled(published);
    expect(await highWater()).toBe(peak);

    // Reading again, it finds why (behind what was already on the wire; at most the one message
    // that overflowed it may follow), then the connection closes.
    stall.resume();
    const closed = await raw.closed;
    expect(closed.code).not.toBe(1006);
    const last = raw.events.find((e) => e.name === 'request:error');
    expect(last?.data).toMatchObject({ event: 'connection', code: 'SLOW_CONSUMER' });
    expect(
      await eventually(
        async () => (await metric('tideline_gateway_connected_sockets')) === connected - 1,
        10_000,
      ),
    ).toBe(true);
    // Counted once, when the gateway closed it.
    expect(await slowConsumers()).toBe(before + 1);
  });

  it('the SDK resumes a slow consumer without loss', async () => {
    await using stall = await StallProxy.to(Number(new URL(world.gateway.url).port));
    const uid = 'sdk-slow';
    const sdk = connectClient({
      url: stall.url,
      token: testToken(uid, [SCOPES.websitesRead]),
      reconnectDelayMs: { initial: 100, max: 1_000 },
    });
    sdks.push(sdk);
    const errors: string[] = [];
    sdk.onError((error) => errors.push(error.code));
    const websites = sdk.websites();
    const history: Change<WebsiteItem>[] = [];
    websites.onChange((change) => history.push(change));
    const atLast = async () => websites.position?.eventId === (await world.lastEventId());
    expect(await eventually(atLast, WAIT_MS)).toBe(true);
    world.proxy.reset();
    const before = await slowConsumers();

    // It stops reading while the list changes and big pushes pile up for it.
    stall.stall();
    for (let i = 0; i < 5; i++) await world.createWebsite();
    await floodUntilSlow(uid, before);
    for (let i = 0; i < 5; i++) await world.createWebsite();
    stall.resume();

    // It reconnects on its own, resumes from its position, and follows what comes after.
    expect(await eventually(() => stall.connections >= 2 && sdk.status === 'live', WAIT_MS)).toBe(true);
    const sites = await world.databaseList();
    await world.updateWebsite(sites[0]!.website_id, { https_enabled: !sites[0]!.https_enabled });
    await world.deleteWebsite(sites[1]!.website_id);
    expect(await eventually(atLast, WAIT_MS)).toBe(true);

    expect(errors).toContain('SLOW_CONSUMER');
    // One snapshot (the first), then every event once, in order: no gap, no duplicate.
    expect(history.filter((c) => c.kind === 'reset')).toEqual([history[0]]);
    const ids = history.slice(1).map((c) => c.eventId);
    const first = history[0]!.eventId;
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => first + 1 + i));
    expect(ids.at(-1)).toBe(await world.lastEventId());
    // Resumed by replay from its lastEventId, not by a new snapshot.
    expect(world.proxy.count(INTERNAL_PATHS.websitesSnapshot)).toBe(0);
    expect(world.proxy.count(INTERNAL_PATHS.websitesEvents, (q) => q.has('version'))).toBeGreaterThanOrEqual(
      1,
    );
    expect([...websites.items()].sort((a, b) => a.website_id - b.website_id)).toEqual(
      await world.databaseList(),
    );
  });

  it('a client that never reads again has its connection cut after the grace, and nothing stays queued for it', async () => {
    const gateway = await world.addGateway({ TIDELINE_GATEWAY_SLOW_CONSUMER_CLOSE_GRACE_MS: '500' });
    await using stall = await StallProxy.to(Number(new URL(gateway.url).port));
    const raw = await RawClient.connect(stall.url, testToken('never-reads', [SCOPES.websitesRead]));
    raws.push(raw);
    const sockets = () => metric('tideline_gateway_connected_sockets', {}, gateway.url);
    expect(await sockets()).toBe(1);

    stall.stall();
    await floodUntilSlow('never-reads', 0, gateway.url);
    // Still not reading: the gateway lets go of it on its own.
    expect(await eventually(async () => (await sockets()) === 0, WAIT_MS)).toBe(true);
    expect(await metric('tideline_gateway_disconnects_total', {}, gateway.url)).toBe(1);
    const peak = await metric('tideline_gateway_outbound_queue_high_water_bytes', {}, gateway.url);
    expect(peak).toBeLessThanOrEqual(OUTBOUND_LIMIT_BYTES + PUSH_BYTES);
    stall.resume();
    await raw.closed;
  });
});

import { randomUUID } from 'node:crypto';
import { SCOPES } from '@tideline/auth';
import { type EventBus, publishPush } from '@tideline/bus';
import { testToken } from '@tideline/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningPushGateway } from '../src/service.ts';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { PushTestBus } from './support/push-bus.ts';
import { TestStack } from './support/stack.ts';

const WAIT_MS = 15_000;
/** The broker's duplicate window for these tests (the smallest the configuration allows), so a push can be stored twice. */
const DUPLICATE_WINDOW_MS = 1_000;

let stack: TestStack;
let publisher: EventBus;
const sockets: TestSocket[] = [];
const testBuses: PushTestBus[] = [];

beforeEach(async () => {
  stack = new TestStack({ TIDELINE_BUS_DUPLICATE_WINDOW_MS: String(DUPLICATE_WINDOW_MS) });
  publisher = await stack.bus();
});

afterEach(async () => {
  closeAll(sockets.splice(0));
  await stack[Symbol.asyncDispose]();
  await Promise.allSettled(testBuses.splice(0).map((bus) => bus.drain()));
});

/** A gateway of this stack on its own {@link PushTestBus}. */
async function gateway(
  env: Record<string, string> = {},
): Promise<{ gateway: RunningPushGateway; bus: PushTestBus }> {
  const bus = new PushTestBus(stack.env(env), `push-test-${testBuses.length}`);
  testBuses.push(bus);
  await bus.start();
  return { gateway: await stack.gateway(env, { bus }), bus };
}

/** A socket of `uid` that records the data of every `push:notice` it receives. */
async function userSocket(url: string, uid: string): Promise<{ socket: TestSocket; got: unknown[] }> {
  const socket = await connectSocket(url, testToken(uid, [SCOPES.websitesRead]));
  sockets.push(socket);
  const got: unknown[] = [];
  socket.on('push:notice', (data) => got.push(data));
  return { socket, got };
}

/** This gateway's `tideline_gateway_pushes_total` for user pushes, by outcome. */
async function userPushes(gw: RunningPushGateway): Promise<Record<string, number>> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('tideline_gateway_pushes_total{') || !line.includes('target_kind="user"')) continue;
    const outcome = /outcome="([^"]+)"/.exec(line)?.[1];
    if (outcome) counts[outcome] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

/** Waits until this gateway's handler has handled `deliveries` deliveries of user pushes, whatever their outcome. */
async function handled(gw: RunningPushGateway, deliveries: number): Promise<void> {
  const total = async () => Object.values(await userPushes(gw)).reduce((sum, n) => sum + n, 0);
  await expect.poll(total, { timeout: WAIT_MS }).toBe(deliveries);
}

/**
 * Resolves once every push emitted to this socket before the call has reached it: an
 * acknowledged client event travels behind them on the same connection.
 */
async function flushed(socket: TestSocket): Promise<void> {
  await socket.emitWithAck('unsubscribe:nodes', { cluster: 'none' });
}

function notice(uid: string, id: string) {
  return { target: { kind: 'user' as const, uid }, event: 'push:notice' as const, data: { id }, id };
}

describe('pushes', () => {
  it('pushes - a push the broker delivers again reaches each socket of the user once, on both gateways', async () => {
    const [a, b] = [await gateway(), await gateway()];
    const uid = `alice-${randomUUID().slice(0, 8)}`;
    const alice = [
      await userSocket(a.gateway.url, uid),
      await userSocket(a.gateway.url, uid),
      await userSocket(b.gateway.url, uid),
    ];
    const bob = [await userSocket(a.gateway.url, 'bob'), await userSocket(b.gateway.url, 'bob')];

    const push = notice(uid, `again-${randomUUID()}`);
    expect((await publishPush(publisher, push)).duplicate).toBe(false);
    await expect.poll(() => alice.map((s) => s.got.length), { timeout: WAIT_MS }).toEqual([1, 1, 1]);

    // The same push (same id, so the same msgId) once the broker's duplicate window has passed:
    // the broker stores it again and each gateway's handler sees that msgId a second time.
    await expect
      .poll(async () => (await publishPush(publisher, push)).duplicate, { timeout: WAIT_MS, interval: 100 })
      .toBe(false);
    for (const gw of [a.gateway, b.gateway]) await handled(gw, 2);
    for (const s of [...alice, ...bob]) await flushed(s.socket);
    for (const s of alice) expect(s.got).toEqual([{ id: push.id }]);
    for (const s of bob) expect(s.got).toEqual([]);
    for (const gw of [a.gateway, b.gateway]) expect(await userPushes(gw)).toEqual({ sent: 1, duplicate: 1 });
  });

  it('pushes - across a restart of one gateway’s push subscription each socket on both gateways gets each push once', async () => {
    const [a, b] = [await gateway(), await gateway()];
    const uid = `alice-${randomUUID().slice(0, 8)}`;
    const alice = [await userSocket(a.gateway.url, uid), await userSocket(b.gateway.url, uid)];
    const ids = [1, 2, 3].map((n) => `restart-${n}-${randomUUID()}`);

    await publishPush(publisher, notice(uid, ids[0]!));
    await expect.poll(() => alice.map((s) => s.got.length), { timeout: WAIT_MS }).toEqual([1, 1]);

    await b.bus.subscriptionOf('push').restart();
    await publishPush(publisher, notice(uid, ids[1]!));
    await publishPush(publisher, notice(uid, ids[2]!));
    await expect.poll(() => alice.map((s) => s.got.length), { timeout: WAIT_MS }).toEqual([3, 3]);

    for (const gw of [a.gateway, b.gateway]) await handled(gw, 3);
    for (const s of alice) await flushed(s.socket);
    const sorted = (got: unknown[]) => got.map((d) => (d as { id: string }).id).sort();
    for (const s of alice) expect(sorted(s.got)).toEqual([...ids].sort());
    for (const gw of [a.gateway, b.gateway]) expect(await userPushes(gw)).toEqual({ sent: 3 });
  });

  it('pushes - a gateway restarted under the same instance id emits only pushes published after it started, each once', async () => {
    const instanceId = `gw-${stack.id}-b`;
    const a = await gateway();
    const b = await gateway({ TIDELINE_INSTANCE_ID: instanceId });
    const uid = `alice-${randomUUID().slice(0, 8)}`;
    const onA = await userSocket(a.gateway.url, uid);
    const onB = await userSocket(b.gateway.url, uid);
    const ids = [1, 2, 3].map((n) => `gw-restart-${n}-${randomUUID()}`);

    await publishPush(publisher, notice(uid, ids[0]!));
    await expect.poll(() => [onA.got.length, onB.got.length], { timeout: WAIT_MS }).toEqual([1, 1]);

    await b.gateway.stop('restart');
    // Published while b is down: only the socket on a can get it.
    await publishPush(publisher, notice(uid, ids[1]!));
    await expect.poll(() => onA.got.length, { timeout: WAIT_MS }).toBe(2);

    const restarted = await gateway({ TIDELINE_INSTANCE_ID: instanceId });
    expect(restarted.gateway.instanceId).toBe(instanceId);
    const onRestarted = await userSocket(restarted.gateway.url, uid);
    await publishPush(publisher, notice(uid, ids[2]!));
    await expect.poll(() => [onA.got.length, onRestarted.got.length], { timeout: WAIT_MS }).toEqual([3, 1]);

    await handled(restarted.gateway, 1);
    await handled(a.gateway, 3);
    for (const s of [onA, onRestarted]) await flushed(s.socket);
    const idsOf = (got: unknown[]) => got.map((d) => (d as { id: string }).id).sort();
    expect(idsOf(onA.got)).toEqual([...ids].sort());
    expect(idsOf(onB.got)).toEqual([ids[0]]);
    expect(idsOf(onRestarted.got)).toEqual([ids[2]]);
    expect(await userPushes(restarted.gateway)).toEqual({ sent: 1 });
  });
});

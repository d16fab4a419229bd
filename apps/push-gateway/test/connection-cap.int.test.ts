import { SCOPES } from '@tideline/auth';
import { createStatefulExecutor } from '@tideline/stateful';
import { eventually, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, connectSocket, openSocket, refused, type TestSocket } from './support/client.ts';
import { REDIS_URL, TestStack } from './support/stack.ts';

const CAP = 4;
/** 500 ms (the most a 1 s pod state TTL allows): a stall of a busy machine does not lapse a live lease. */
const HEARTBEAT_MS = 500;
const LEASE_HEARTBEATS = 4;
/** The stated bound: sockets of a dead gateway stop counting heartbeat × N after its last heartbeat. */
const BOUND_MS = HEARTBEAT_MS * LEASE_HEARTBEATS;
/** Slack on top of the bound for a busy 2-core machine; the poll ends there, not at the bound. */
const SLACK_MS = 15_000;
const UID = 'cap-user';

const stack = new TestStack({
  TIDELINE_GATEWAY_MAX_CONNECTIONS_PER_USER: String(CAP),
  TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  TIDELINE_STATEFUL_POD_STATE_TTL_SECONDS: '1',
  TIDELINE_STATEFUL_LINK_LEASE_HEARTBEATS: String(LEASE_HEARTBEATS),
});
const executor = createStatefulExecutor({
  config: {
    redisUrl: REDIS_URL,
    redisCommandTimeoutMs: 2_000,
    statefulNamespace: stack.namespace,
    statefulConnectTimeoutMs: 2_000,
    statefulReconnectBackoffMs: 100,
    statefulReconnectBackoffMaxMs: 1_000,
    statefulHeartbeatIntervalMs: HEARTBEAT_MS,
    statefulPodStateTtlSeconds: 1,
    statefulLinkPersistSeconds: 30,
    statefulLinkLeaseHeartbeats: LEASE_HEARTBEATS,
  },
});
const sockets: TestSocket[] = [];
const token = (uid = UID) => testToken(uid, [SCOPES.websitesRead]);

beforeAll(async () => {
  await executor.connect();
});

afterAll(async () => {
  closeAll(sockets);
  await executor.close();
  await stack[Symbol.asyncDispose]();
});

async function accepted(url: string, uid = UID): Promise<TestSocket> {
  const socket = await connectSocket(url, token(uid));
  sockets.push(socket);
  return socket;
}

/** Opens a socket that must be refused by the cap, and returns the `connect_error` data. */
async function refusedData(url: string): Promise<unknown> {
  const socket = openSocket(url, token());
  sockets.push(socket);
  const error = await refused(socket);
  expect(socket.connected).toBe(false);
  return error.data;
}

/** Live sockets of the user counted in Redis, per gateway pod. */
async function counted(): Promise<Map<string, number>> {
  return executor.countConnections(stack.namespace, UID);
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

describe('per-user connection cap', () => {
  it('connection cap - a user cannot open more than the cap across two gateways', async () => {
    const [first, second] = await Promise.all([stack.gatewayProcess(), stack.gatewayProcess()]);
    const onFirst = [await accepted(first.url), await accepted(first.url)];
    const onSecond = [await accepted(second.url), await accepted(second.url)];
    expect([...onFirst, ...onSecond].every((s) => s.connected)).toBe(true);
    const pods = await counted();
    expect(pods.size, 'counted on both gateways').toBe(2);
    expect(total(pods)).toBe(CAP);

    // The next handshake is refused, on either gateway, with the code and the one error body.
    const expected = {
      code: 'TOO_MANY_CONNECTIONS',
      error: { code: 'TOO_MANY_CONNECTIONS', message: expect.stringContaining(String(CAP)) },
    };
    expect(await refusedData(first.url)).toEqual(expected);
    expect(await refusedData(second.url)).toEqual(expected);
    expect(total(await counted()), 'a refused handshake is not counted').toBe(CAP);
    // The cap is per user: somebody else still gets in.
    expect((await accepted(first.url, 'someone-else')).connected).toBe(true);

    // One disconnects: a new one is accepted, and the user is at the cap again.
    onSecond[0]!.disconnect();
    expect(await eventually(async () => total(await counted()) === CAP - 1, 10_000, 25)).toBe(true);
    onSecond[0] = await accepted(second.url);
    expect(await refusedData(second.url)).toEqual(expected);

    // A gateway killed with -9: its two sockets stop counting within the stated bound.
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const freed = await eventually(async () => total(await counted()) === 2, BOUND_MS + SLACK_MS, 25);
    expect(freed, `the dead gateway's sockets stop counting within ${BOUND_MS} ms (+ slack)`).toBe(true);
    expect((await counted()).size, "only the live gateway's sockets count").toBe(1);
    await accepted(second.url);
    await accepted(second.url);
    expect(await refusedData(second.url)).toEqual(expected);
    expect(onSecond.every((s) => s.connected)).toBe(true);
  });
});

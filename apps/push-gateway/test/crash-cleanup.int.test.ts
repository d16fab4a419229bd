import { SCOPES } from '@tideline/auth';
import { createStatefulExecutor, statefulKeys } from '@tideline/stateful';
import { eventually, testToken } from '@tideline/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAME } from '../src/service.ts';
import { closeAll, connectSocket, type TestSocket } from './support/client.ts';
import { REDIS_URL, TestStack } from './support/stack.ts';

/** 500 ms (the most a 1 s pod state TTL allows): a stall of a busy machine does not lapse a live lease. */
const HEARTBEAT_MS = 500;
const LEASE_HEARTBEATS = 3;
/** The stated bound (README): links of a dead gateway are gone heartbeat × N after its last heartbeat. */
const BOUND_MS = HEARTBEAT_MS * LEASE_HEARTBEATS;
/** Slack on top of the bound for a busy 2-core machine; the poll ends there, not at the bound. */
const SLACK_MS = 15_000;
const UIDS = ['crash-a', 'crash-b', 'crash-c'];

const stack = new TestStack({
  TIDELINE_STATEFUL_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  TIDELINE_STATEFUL_POD_STATE_TTL_SECONDS: '1',
  TIDELINE_STATEFUL_LINK_LEASE_HEARTBEATS: String(LEASE_HEARTBEATS),
  // Long enough that only the lease, not a persist window, can explain the links disappearing.
  TIDELINE_STATEFUL_LINK_PERSIST_SECONDS: '600',
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
    statefulLinkPersistSeconds: 600,
    statefulLinkLeaseHeartbeats: LEASE_HEARTBEATS,
  },
});
const admin = new Redis(REDIS_URL, { lazyConnect: true });
const sockets: TestSocket[] = [];

beforeAll(async () => {
  await executor.connect();
  await admin.connect();
});

afterAll(async () => {
  closeAll(sockets);
  await executor.close();
  admin.disconnect();
  await stack[Symbol.asyncDispose]();
});

/** The gateway pod each uid is linked to (undefined: none), as any reader of the executor sees it. */
async function linkedPods(): Promise<(string | undefined)[]> {
  return Promise.all(UIDS.map((uid) => executor.getLinkedPod(stack.namespace, uid, SERVICE_NAME)));
}

/** Keys of the uids that still exist in Redis (links and counted connections). */
async function keysLeft(): Promise<number> {
  const names = UIDS.flatMap((uid) => [
    statefulKeys.links(stack.namespace, uid),
    statefulKeys.connections(stack.namespace, uid),
  ]);
  return admin.exists(...names);
}

describe('crashed gateways', () => {
  it(`presence - a gateway killed with -9 leaves no presence links after ${LEASE_HEARTBEATS} heartbeat intervals`, async () => {
    const gateway = await stack.gatewayProcess();
    for (const uid of UIDS)
      sockets.push(await connectSocket(gateway.url, testToken(uid, [SCOPES.websitesRead])));

    // Before the kill: every uid is linked to this gateway and its socket is counted.
    expect(
      await eventually(async () => (await linkedPods()).every((pod) => pod !== undefined), 10_000, 25),
    ).toBe(true);
    const pods = new Set(await linkedPods());
    expect(pods.size).toBe(1);
    const [pod] = [...pods] as [string];
    expect((await executor.getServiceState(stack.namespace, SERVICE_NAME)).get(pod)).toBe('ready');
    for (const uid of UIDS)
      expect(await executor.countConnections(stack.namespace, uid)).toEqual(new Map([[pod, 1]]));
    expect(await keysLeft()).toBe(UIDS.length * 2);

    gateway.kill('SIGKILL');
    expect(await gateway.exited, 'killed, not exited').toBeNull();

    const cleared = await eventually(
      async () => (await linkedPods()).every((p) => p === undefined) && (await keysLeft()) === 0,
      BOUND_MS + SLACK_MS,
      25,
    );
    expect(cleared, `links and counted sockets gone within ${BOUND_MS} ms (+ slack)`).toBe(true);
    for (const uid of UIDS) {
      expect(await executor.getLinkService(stack.namespace, uid)).toEqual(new Map());
      expect(await executor.countConnections(stack.namespace, uid)).toEqual(new Map());
    }
  });
});

import { SCOPES, signToken } from '@tideline/auth';
import type { RequestError } from '@tideline/contracts';
import { createStatefulExecutor } from '@tideline/stateful';
import { eventually, TEST_JWT, testToken } from '@tideline/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAME } from '../src/service.ts';
import {
  closeAll,
  connected,
  connectSocket,
  openSocket,
  refused,
  type TestSocket,
} from './support/client.ts';
import { REDIS_URL } from './support/stack.ts';
import { World } from './support/world.ts';

let world: World;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  world = await World.start();
});

afterAll(async () => {
  closeAll(sockets);
  await world?.[Symbol.asyncDispose]();
});

function track(socket: TestSocket): TestSocket {
  sockets.push(socket);
  return socket;
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned token (`alg: none`) with otherwise valid claims. */
function unsignedToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: 'mallory',
    scope: 'websites:read',
    iss: TEST_JWT.issuer,
    aud: TEST_JWT.audience,
    iat: now,
    exp: now + 600,
  };
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

function disconnectReason(socket: TestSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

describe('handshake', () => {
  it('no token - the connection is refused with UNAUTHORIZED/missing', async () => {
    const error = await refused(track(openSocket(world.gateway.url, undefined)));
    expect(error.data).toEqual({ code: 'UNAUTHORIZED', reason: 'missing' });
  });

  it.each([
    [
      'bad signature',
      testToken('eve', [SCOPES.websitesRead], { secret: 'another-secret-that-is-long-enough-123' }),
      'UNAUTHORIZED',
      'bad-signature',
    ],
    ['alg none', unsignedToken(), 'UNAUTHORIZED', 'bad-signature'],
    [
      'wrong audience',
      testToken('eve', [SCOPES.websitesRead], { audience: 'another-audience' }),
      'UNAUTHORIZED',
      'wrong-audience',
    ],
    [
      'wrong issuer',
      testToken('eve', [SCOPES.websitesRead], { issuer: 'another-issuer' }),
      'UNAUTHORIZED',
      'wrong-issuer',
    ],
    [
      'expired',
      testToken('eve', [SCOPES.websitesRead], { expiresInSeconds: -30 }),
      'TOKEN_EXPIRED',
      'expired',
    ],
    ['malformed', 'not.a.jwt', 'UNAUTHORIZED', 'malformed'],
    [
      'not yet valid',
      signToken({ ...TEST_JWT, sub: 'eve', scopes: [], expiresInSeconds: 600, notBeforeSeconds: 300 }),
      'UNAUTHORIZED',
      'not-yet-valid',
    ],
  ])('2 - %s: the connection is refused with the reason', async (_name, token, code, reason) => {
    const socket = track(openSocket(world.gateway.url, token));
    const error = await refused(socket);
    expect(error.data).toEqual({ code, reason });
    expect(socket.connected).toBe(false);
  });

  it('refusals - are counted by reason in /metrics', async () => {
    const text = await (await fetch(`${world.gateway.url}/metrics`)).text();
    for (const reason of ['missing', 'bad-signature', 'wrong-audience', 'expired', 'malformed']) {
      expect(text).toMatch(
        new RegExp(`tideline_gateway_auth_failures_total\\{reason="${reason}"[^}]*\\} [1-9]`),
      );
    }
  });

  it('valid token - connected {ok:true}, on the default path next to /healthz and /readyz', async () => {
    const socket = track(openSocket(world.gateway.url, testToken('alice', [SCOPES.websitesRead])));
    expect(await connected(socket)).toEqual({ ok: true });
    expect(socket.connected).toBe(true);
    expect((await fetch(`${world.gateway.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${world.gateway.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${world.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/tideline_gateway_connected_sockets\{[^}]*\} [1-9]/);
  });

  it('presence - the gateway is registered ready and links each connected user to itself, with a persist window after the last socket', async () => {
    await using executor = createStatefulExecutor({
      config: {
        redisUrl: REDIS_URL,
        redisCommandTimeoutMs: 2_000,
        statefulNamespace: world.stack.namespace,
        statefulConnectTimeoutMs: 2_000,
        statefulReconnectBackoffMs: 100,
        statefulReconnectBackoffMaxMs: 1_000,
        statefulHeartbeatIntervalMs: 5_000,
        statefulPodStateTtlSeconds: 15,
        statefulLinkPersistSeconds: 30,
        statefulLinkLeaseHeartbeats: 3,
      },
    });
    await executor.connect();
    const ns = world.stack.namespace;
    expect((await executor.getServiceState(ns, SERVICE_NAME)).get(world.gateway.instanceId)).toBe('ready');
    const socket = track(openSocket(world.gateway.url, testToken('presence-user', [SCOPES.websitesRead])));
    await connected(socket);
    expect(
      await eventually(
        async () =>
          (await executor.getLinkedPod(ns, 'presence-user', SERVICE_NAME)) === world.gateway.instanceId,
        5_000,
      ),
    ).toBe(true);
    socket.disconnect();
    // Still linked inside the persist window, so a reconnect could land here again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await executor.getLinkedPod(ns, 'presence-user', SERVICE_NAME)).toBe(world.gateway.instanceId);
  });
});

describe('token expiry', () => {
  it('token expiry - a socket whose token expires gets TOKEN_EXPIRED and is disconnected; a refreshed one stays', async () => {
    const url = world.gateway.url;
    const [expiring, refreshing, wrongUser] = await Promise.all([
      connectSocket(url, testToken('bob', [SCOPES.websitesRead], { expiresInSeconds: 2 })),
      connectSocket(url, testToken('carol', [SCOPES.websitesRead], { expiresInSeconds: 2 })),
      connectSocket(url, testToken('dave', [SCOPES.websitesRead], { expiresInSeconds: 2 })),
    ]);
    for (const s of [expiring, refreshing, wrongUser]) track(s);
    const expiredErrors: RequestError[] = [];
    expiring.on('request:error', (error) => expiredErrors.push(error));
    const expiringGone = disconnectReason(expiring);
    const wrongUserGone = disconnectReason(wrongUser);

    // A fresh token for the same user extends the socket; one for another user is refused.
    expect(
      await refreshing.emitWithAck('auth:refresh', {
        token: testToken('carol', [SCOPES.websitesRead], { expiresInSeconds: 600 }),
      }),
    ).toEqual({
      ok: true,
    });
    const refusal = await wrongUser.emitWithAck('auth:refresh', {
      token: testToken('mallory', [SCOPES.websitesRead]),
    });
    expect(refusal).toMatchObject({ ok: false, event: 'auth:refresh', code: 'FORBIDDEN' });
    const expiredRefresh = await wrongUser.emitWithAck('auth:refresh', {
      token: testToken('dave', [SCOPES.websitesRead], { expiresInSeconds: -30 }),
    });
    expect(expiredRefresh).toMatchObject({ ok: false, code: 'TOKEN_EXPIRED' });

    const started = Date.now();
    expect(await expiringGone).toBe('io server disconnect');
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(expiredErrors).toEqual([expect.objectContaining({ code: 'TOKEN_EXPIRED', event: 'connection' })]);
    expect(await wrongUserGone).toBe('io server disconnect');

    // Past the first token's expiry the refreshed socket still works.
    const ack = await refreshing.emitWithAck('request:websites', {});
    expect(ack).toEqual({ ok: true });
    expect(refreshing.connected).toBe(true);
  });
});

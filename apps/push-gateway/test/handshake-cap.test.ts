import { EventEmitter } from 'node:events';
import type { TokenVerifier } from '@tideline/auth';
import { StatefulUnavailableError } from '@tideline/stateful';
import type { ExtendedError } from 'socket.io';
import { describe, expect, it } from 'vitest';
import {
  type ConnectionCounter,
  type HandshakeRefusalReason,
  handshake,
  releaseLease,
  takeLease,
} from '../src/socket/handshake.ts';
import type { GatewaySocket } from '../src/socket/types.ts';

// Unit tests of the cap's edge paths with a fake socket and counter; the cap itself (Redis, two
// real gateways, kill -9) is proven in connection-cap.int.test.ts.

const verifier = {
  verify: () => ({ uid: 'u1', scopes: new Set<string>(), expiresAtMs: Date.now() + 60_000 }),
} as unknown as TokenVerifier;

class FakeConn extends EventEmitter {
  readyState = 'open';
}

function fakeSocket(id = 'sock-1') {
  const socket = Object.assign(new EventEmitter(), {
    id,
    data: {} as Record<string, unknown>,
    handshake: { auth: { token: 'a token' } },
    conn: new FakeConn(),
  });
  return socket;
}

class FakeCounter implements ConnectionCounter {
  readonly admitted = new Set<string>();
  readonly calls: string[] = [];
  failing = false;
  /** Runs while `admit` is in flight (e.g. the client hangs up). */
  duringAdmit: () => void = () => {};

  async admit(uid: string, id: string, max: number) {
    this.calls.push(`admit ${uid} ${id} ${max}`);
    await Promise.resolve();
    this.duringAdmit();
    if (this.failing) throw new StatefulUnavailableError('offline', 'redis is down');
    if (this.admitted.size >= max) return { ok: false, count: this.admitted.size };
    this.admitted.add(id);
    return { ok: true, count: this.admitted.size };
  }

  async release(uid: string, id: string) {
    this.calls.push(`release ${uid} ${id}`);
    return this.admitted.delete(id);
  }
}

function run(counter: FakeCounter, socket: ReturnType<typeof fakeSocket>, max: number) {
  const refusals: HandshakeRefusalReason[] = [];
  const releaseErrors: unknown[] = [];
  const check = handshake({
    verifier,
    accepting: () => true,
    onRefused: (reason) => refusals.push(reason),
    cap: { max, counter, onReleaseError: (error) => releaseErrors.push(error) },
  });
  const result = new Promise<ExtendedError | undefined>((resolve) =>
    check(socket as unknown as GatewaySocket, (error) => resolve(error)),
  );
  return { result, refusals, releaseErrors };
}

describe('handshake connection cap', () => {
  it('connection cap - the socket past the cap is refused with TOO_MANY_CONNECTIONS and the error body', async () => {
    const counter = new FakeCounter();
    expect(await run(counter, fakeSocket('a'), 1).result).toBeUndefined();
    const second = run(counter, fakeSocket('b'), 1);
    const error = await second.result;
    expect(error?.data).toEqual({
      code: 'TOO_MANY_CONNECTIONS',
      error: { code: 'TOO_MANY_CONNECTIONS', message: error?.message },
    });
    expect(second.refusals).toEqual(['too-many-connections']);
    expect([...counter.admitted]).toEqual(['a']);
  });

  it('connection cap - while the count cannot be read, a handshake is refused with UNAVAILABLE and nothing is counted', async () => {
    const counter = new FakeCounter();
    counter.failing = true;
    const attempt = run(counter, fakeSocket(), 5);
    const error = await attempt.result;
    expect(error?.data).toMatchObject({ code: 'UNAVAILABLE', error: { code: 'UNAVAILABLE' } });
    expect(JSON.stringify(error?.data)).not.toContain('redis is down');
    expect(attempt.refusals).toEqual(['cap-unavailable']);
    expect(counter.admitted.size).toBe(0);
  });

  it('connection cap - a client that hangs up while it is being counted leaves no count behind', async () => {
    const counter = new FakeCounter();
    const socket = fakeSocket();
    counter.duringAdmit = () => {
      socket.conn.readyState = 'closed';
    };
    await run(counter, socket, 5).result;
    // Socket.IO drops such a socket without a disconnect event: the handshake released it itself.
    expect(counter.calls).toEqual(['admit u1 sock-1 5', 'release u1 sock-1']);
    expect(counter.admitted.size).toBe(0);
  });

  it('connection cap - an admitted socket is released exactly once, by its disconnect or its connection closing', async () => {
    const counter = new FakeCounter();
    const socket = fakeSocket();
    expect(await run(counter, socket, 5).result).toBeUndefined();
    socket.emit('disconnect', 'client namespace disconnect');
    socket.conn.emit('close', 'transport close');
    socket.emit('disconnect', 'again');
    expect(counter.calls.filter((c) => c.startsWith('release'))).toEqual(['release u1 sock-1']);
    expect(socket.conn.listenerCount('close'), 'no listener left on the connection').toBe(0);

    const other = fakeSocket('sock-2');
    await run(counter, other, 5).result;
    other.conn.emit('close', 'transport close');
    other.emit('disconnect', 'transport close');
    expect(counter.calls.filter((c) => c.startsWith('release'))).toEqual([
      'release u1 sock-1',
      'release u1 sock-2',
    ]);
  });

  it('connection cap - the lease of a connected socket passes to its connection: the handshake lets go, one release remains', async () => {
    const counter = new FakeCounter();
    const socket = fakeSocket();
    const asGateway = socket as unknown as GatewaySocket;
    expect(await run(counter, socket, 5).result).toBeUndefined();
    expect(takeLease(asGateway)).toBe(true);
    expect(takeLease(asGateway), 'taken once').toBe(false);
    expect(socket.listenerCount('disconnect'), 'no handshake listener left on the socket').toBe(0);
    expect(socket.conn.listenerCount('close'), 'no handshake listener left on the connection').toBe(0);
    socket.emit('disconnect', 'transport close');
    socket.conn.emit('close', 'transport close');
    expect(
      counter.calls.filter((c) => c.startsWith('release')),
      'the connection releases it',
    ).toEqual([]);
    releaseLease({ max: 5, counter, onReleaseError: () => {} }, 'u1', socket.id);
    await Promise.resolve();
    expect(counter.calls.filter((c) => c.startsWith('release'))).toEqual(['release u1 sock-1']);
    expect(counter.admitted.size).toBe(0);

    // Released by the handshake already (its connection closed first): nothing passes on.
    const closed = fakeSocket('sock-2');
    await run(counter, closed, 5).result;
    closed.conn.emit('close', 'transport close');
    expect(takeLease(closed as unknown as GatewaySocket)).toBe(false);
  });

  it('connection cap - 0 turns the cap off: nothing is counted', async () => {
    const counter = new FakeCounter();
    const socket = fakeSocket();
    expect(await run(counter, socket, 0).result).toBeUndefined();
    expect(counter.calls).toEqual([]);
    expect(takeLease(socket as unknown as GatewaySocket), 'nothing to release').toBe(false);
  });
});

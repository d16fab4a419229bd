import { AuthError, type AuthFailureReason, type TokenVerifier } from '@tideline/auth';
import type { HandshakeErrorData } from '@tideline/contracts';
import type { ExtendedError } from 'socket.io';
import { type CapRefusalData, capRefusalData } from './refusal.ts';
import type { GatewaySocket } from './types.ts';

/** `connect_error.data` while the gateway drains: connect to another one. */
interface DrainingErrorData {
  code: 'UNAVAILABLE';
}

/** Counts a user's sockets across all gateways (PodPresence of packages/stateful). */
export interface ConnectionCounter {
  admit(uid: string, connectionId: string, max: number): Promise<{ ok: boolean; count: number }>;
  release(uid: string, connectionId: string): Promise<boolean>;
}

export interface ConnectionCap {
  /** Most sockets one uid may hold across all gateways; 0: no cap (nothing is counted). */
  max: number;
  counter: ConnectionCounter;
  /** A release that failed (Redis unavailable); the entry then runs out with its lease. */
  onReleaseError: (error: unknown) => void;
}

export type HandshakeRefusalReason =
  | AuthFailureReason
  | 'draining'
  | 'too-many-connections'
  | 'cap-unavailable';

export interface HandshakeOptions {
  verifier: TokenVerifier;
  /** False once the gateway drains: new connections are refused with UNAVAILABLE. */
  accepting: () => boolean;
  onRefused: (reason: HandshakeRefusalReason) => void;
  /** The per-user connection cap; unset: none. */
  cap?: ConnectionCap | undefined;
}

function refusal(
  message: string,
  data: HandshakeErrorData | DrainingErrorData | CapRefusalData,
): ExtendedError {
  const error = new Error(message) as ExtendedError;
  error.data = data;
  return error;
}

/**
 * The handshake check: a connection is accepted only with a valid token in `auth.token`
 * (signature with the pinned algorithm, `exp`, `nbf`, issuer, audience), and — with a cap — only
 * while its user holds fewer than `cap.max` sockets across all gateways. A refusal reaches the
 * client as `connect_error` whose `data` is `{ code, reason }` (HandshakeErrorData), `{ code:
 * 'UNAVAILABLE' }` while draining, or `{ code, error: { code, message } }` from the cap
 * (TOO_MANY_CONNECTIONS, or UNAVAILABLE when the count cannot be read).
 */
export function handshake(options: HandshakeOptions) {
  return async (socket: GatewaySocket, next: (error?: ExtendedError) => void): Promise<void> => {
    if (!options.accepting()) {
      options.onRefused('draining');
      next(refusal('this gateway is draining; connect to another one', { code: 'UNAVAILABLE' }));
      return;
    }
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    try {
      socket.data.principal = await options.verifier.verify(auth?.['token']);
      // The verified claims are what the socket keeps: the token itself (a secret) is not held
      // for the socket's life, nor handed to other gateways with the handshake.
      if (auth) {
        const { token: _token, ...rest } = auth;
        socket.handshake.auth = rest;
      }
    } catch (error) {
      const refused =
        error instanceof AuthError ? error : new AuthError('malformed', 'the token could not be read');
      options.onRefused(refused.reason);
      next(refusal(refused.message, { code: refused.code, reason: refused.reason }));
      return;
    }
    const cap = options.cap;
    if (!cap || cap.max === 0) {
      next();
      return;
    }
    await admit(socket, cap, options, next);
  };
}

async function admit(
  socket: GatewaySocket,
  cap: ConnectionCap,
  options: HandshakeOptions,
  next: (error?: ExtendedError) => void,
): Promise<void> {
  const uid = socket.data.principal.uid;
  let admitted: boolean;
  try {
    admitted = (await cap.counter.admit(uid, socket.id, cap.max)).ok;
  } catch {
    options.onRefused('cap-unavailable');
    const data = capRefusalData('UNAVAILABLE', 'the connection count is unavailable; retry later');
    next(refusal(data.error.message, data));
    return;
  }
  if (!admitted) {
    options.onRefused('too-many-connections');
    const data = capRefusalData(
      'TOO_MANY_CONNECTIONS',
      `this user already holds ${cap.max} sockets, the most allowed across all gateways; close one first`,
    );
    next(refusal(data.error.message, data));
    return;
  }
  // Released once, whichever comes first: the socket's disconnect, or its connection closing
  // (also while the count was read: Socket.IO then drops the socket without a disconnect event).
  const lease: CapLease = { uid, connectionId: socket.id, cap, socket, released: false };
  if (socket.conn.readyState !== 'open') {
    release(lease);
    next(); // Socket.IO drops a socket whose connection closed, without connecting it
    return;
  }
  leases.set(socket.conn, lease);
  socket.on('disconnect', releaseOnDisconnect);
  socket.conn.on('close', releaseOnClose);
  next();
}

/** One admitted socket's place in its user's count until its connection takes it; the listeners releasing it are shared. */
interface CapLease {
  uid: string;
  connectionId: string;
  cap: ConnectionCap;
  socket: GatewaySocket;
  released: boolean;
}

const leases = new WeakMap<object, CapLease>();

function release(lease: CapLease): void {
  if (lease.released) return;
  lease.released = true;
  leases.delete(lease.socket.conn);
  lease.socket.off('disconnect', releaseOnDisconnect);
  lease.socket.conn.off('close', releaseOnClose);
  releaseLease(lease.cap, lease.uid, lease.connectionId);
}

function releaseOnDisconnect(this: GatewaySocket): void {
  const lease = leases.get(this.conn);
  if (lease) release(lease);
}

function releaseOnClose(this: GatewaySocket['conn']): void {
  const lease = leases.get(this);
  if (lease) release(lease);
}

/**
 * Hands an admitted socket's place in its user's count over to the socket's connection, once
 * Socket.IO connected it (from then on its disconnect is certain): the handshake drops its own
 * record and listeners, so a connected socket keeps nothing for the cap but the connection's
 * flag. True when the connection now owns the release (call {@link releaseLease} once, at its
 * disconnect); false when there is nothing to release (no cap, or released already).
 */
export function takeLease(socket: GatewaySocket): boolean {
  const lease = leases.get(socket.conn);
  if (!lease || lease.released) return false;
  lease.released = true;
  leases.delete(socket.conn);
  socket.off('disconnect', releaseOnDisconnect);
  socket.conn.off('close', releaseOnClose);
  return true;
}

/** Gives back one socket's place in its user's count (a failed release runs out with its lease). */
export function releaseLease(cap: ConnectionCap, uid: string, connectionId: string): void {
  cap.counter.release(uid, connectionId).catch(cap.onReleaseError);
}

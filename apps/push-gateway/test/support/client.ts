import type { ClientToServerEvents, ServerToClientEvents } from '@tideline/contracts';
import { io, type Socket } from 'socket.io-client';

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions {
  /** Reconnect on its own after a transport close (default false). */
  reconnection?: boolean;
  /** Wait for `connected` (default true); false returns at once. */
  waitConnected?: boolean;
  timeoutMs?: number;
}

/** A real socket.io-client over WebSocket, as a browser would connect (token in `auth`, default path). */
export function openSocket(url: string, token: string | undefined, options: ConnectOptions = {}): TestSocket {
  return io(url, {
    path: '/socket.io/',
    transports: ['websocket'],
    forceNew: true,
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: options.timeoutMs ?? 10_000,
    auth: token === undefined ? {} : { token },
  });
}

/** Resolves on `connected {ok:true}`; rejects with the `connect_error` (its `data` attached). */
export function connected(socket: TestSocket, timeoutMs = 10_000): Promise<{ ok: true }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connected message in time')), timeoutMs);
    socket.once('connected', (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The `connect_error` of a refused handshake. */
export function refused(socket: TestSocket, timeoutMs = 10_000): Promise<Error & { data?: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection was not refused in time')), timeoutMs);
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      resolve(error as Error & { data?: unknown });
    });
    socket.once('connected', () => {
      clearTimeout(timer);
      reject(new Error('the connection was accepted'));
    });
  });
}

export async function connectSocket(
  url: string,
  token: string,
  options: ConnectOptions = {},
): Promise<TestSocket> {
  const socket = openSocket(url, token, options);
  await connected(socket, options.timeoutMs);
  return socket;
}

export function closeAll(sockets: Iterable<TestSocket>): void {
  for (const socket of sockets) {
    socket.io.opts.reconnection = false;
    socket.disconnect();
  }
}

/**
 * What a client must do when a draining gateway refuses its handshake (`connect_error` with
 * `data.code` UNAVAILABLE): connect again shortly, so the load balancer picks another gateway.
 * socket.io-client does not retry a refused handshake on its own.
 */
export function retryWhenUnavailable(socket: TestSocket, delayMs = 100): void {
  socket.on('connect_error', (error) => {
    const code = (error as Error & { data?: { code?: string } }).data?.code;
    if (code === 'UNAVAILABLE') setTimeout(() => socket.connect(), delayMs);
  });
}

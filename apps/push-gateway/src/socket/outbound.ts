import type { GatewaySocket } from './types.ts';

export interface OutboundLimitOptions {
  /** Bytes that may wait to be written to the socket; the message that passes it overflows. */
  limitBytes: number;
  /** Every new high of what waits for this socket (bytes). */
  onQueued(bytes: number): void;
  /**
   * The socket passed the limit; called once, synchronously while the message that passed it is
   * being queued. What it emits is queued behind what already waits; then close the connection.
   */
  onOverflow(bytes: number): void;
}

/** An engine.io packet as `packetCreate` reports it. */
interface EnginePacket {
  data?: unknown;
}

/** The engine's WebSocket transport keeps its `ws` socket here (absent for HTTP long-polling). */
interface WithWebSocket {
  socket?: { bufferedAmount?: number; terminate?: () => void };
}

function bytesOf(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** Bytes the WebSocket holds that the kernel has not taken yet (0 for long-polling). */
function onTheWire(socket: GatewaySocket): number {
  return (socket.conn.transport as unknown as WithWebSocket).socket?.bufferedAmount ?? 0;
}

/** What waits for one socket's connection, counted by the shared listeners below. */
interface OutboundState {
  socket: GatewaySocket;
  options: OutboundLimitOptions;
  queued: number;
  high: number;
  overflowed: boolean;
}

/** Where a watched connection keeps its state; the listeners are shared, so a socket costs no closures. */
const OUTBOUND = Symbol('tideline.outbound');

type WatchedConnection = GatewaySocket['conn'] & { [OUTBOUND]?: OutboundState };

function onPacketCreate(this: WatchedConnection, packet: EnginePacket): void {
  // A packet created while the transport is writable is flushed at once (and `flush` resets the
  // count), so only packets that will wait are measured: nothing is added to the fan-out's path
  // for a socket that keeps up.
  if (this.transport.writable) return;
  const state = this[OUTBOUND];
  if (!state || state.overflowed) return;
  state.queued += bytesOf(packet.data);
  const waiting = state.queued + onTheWire(state.socket);
  if (waiting > state.high) {
    state.high = waiting;
    state.options.onQueued(waiting);
  }
  if (waiting > state.options.limitBytes) {
    state.overflowed = true;
    state.options.onOverflow(waiting);
  }
}

/** The engine hands its whole queue to the transport: it now waits on the wire (bufferedAmount). */
function onFlush(this: WatchedConnection): void {
  const state = this[OUTBOUND];
  if (state) state.queued = 0;
}

/**
 * Watches what waits to be written to one socket: the packets queued in the engine behind the
 * transport (counted as they are created, reset when the engine hands them to the transport)
 * plus what the WebSocket has buffered and the kernel not yet taken. Checked at every packet
 * that has to wait: while the transport is writable nothing waits (the packet goes straight out,
 * however large);
 * once it waits behind data the client has not read, the first packet that brings the total
 * past `limitBytes` overflows. So what waits never exceeds the limit plus one message.
 */
export function limitOutbound(socket: GatewaySocket, options: OutboundLimitOptions): void {
  (socket.conn as WatchedConnection)[OUTBOUND] = { socket, options, queued: 0, high: 0, overflowed: false };
  socket.conn.on('packetCreate', onPacketCreate);
  socket.conn.on('flush', onFlush);
}

/** The engine's packets not yet handed to the transport. */
interface WithWriteBuffer {
  writeBuffer?: EnginePacket[];
}

/**
 * Bytes waiting to be written to the given sockets now: the engine's queued packets plus what
 * each WebSocket buffered. Read on a metrics scrape, never on the fan-out path.
 */
export function outboundBytesWaiting(sockets: Iterable<GatewaySocket>): number {
  let total = 0;
  for (const socket of sockets) {
    for (const packet of (socket.conn as unknown as WithWriteBuffer).writeBuffer ?? [])
      total += bytesOf(packet.data);
    total += onTheWire(socket);
  }
  return total;
}

/**
 * Closes a socket's connection once what was queued before (and the last message) is written,
 * or — should the client not read it within `graceMs` — cuts it, dropping what waits.
 */
export function closeWhenWritten(socket: GatewaySocket, graceMs: number): void {
  const conn = socket.conn;
  // Refuses every later packet; the transport closes after the engine's queue drained.
  conn.close();
  const timer = setTimeout(() => {
    if (conn.readyState === 'closed') return;
    const ws = (conn.transport as unknown as WithWebSocket).socket;
    conn.close(true);
    // The WebSocket would otherwise keep what it buffered until its own close handshake times out.
    ws?.terminate?.();
  }, graceMs);
  timer.unref();
  conn.once('close', () => clearTimeout(timer));
}

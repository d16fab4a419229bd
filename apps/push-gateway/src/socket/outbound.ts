import type { GatewaySocket } from './types.ts';

export interface OutboundLimitOptions {
  /** Bytes that may wait to be written to the socket; the message that passes it overflows. */
  readonly limitBytes: number;
  /** Every new high of what waits for this socket (bytes). */
  onQueued(bytes: number): void;
  /**
   * The socket passed the limit; called once, synchronously while the message that passed it is
   * being queued. What it emits is queued behind what already waits; then close the connection.
   */
  onOverflow(bytes: number): void;
}

/**
 * What the limit counts for one socket, kept on the watcher itself (the socket's own state), so
 * a watched socket costs three numbers and no object or closure of its own. Starts at 0, 0, false.
 */
export interface OutboundWatch extends OutboundLimitOptions {
  readonly socket: GatewaySocket;
  /** Bytes of the packets queued in the engine since it last handed its queue to the transport. */
  outboundQueued: number;
  /** The most that waited so far. */
  outboundHigh: number;
  outboundOverflowed: boolean;
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

/** Where a watched connection keeps its state; the listeners are shared, so a socket costs no closures. */
const OUTBOUND = Symbol('tideline.outbound');

type WatchedConnection = GatewaySocket['conn'] & { [OUTBOUND]?: OutboundWatch };

function onPacketCreate(this: WatchedConnection, packet: EnginePacket): void {
  // A packet created while the transport is writable is flushed at once (and `flush` resets the
  // count), so only packets that will wait are measured: nothing is added to the fan-out's path
  // for a socket that keeps up.
  if (this.transport.writable) return;
  const watch = this[OUTBOUND];
  if (!watch || watch.outboundOverflowed) return;
  watch.outboundQueued += bytesOf(packet.data);
  const waiting = watch.outboundQueued + onTheWire(watch.socket);
  if (waiting > watch.outboundHigh) {
    watch.outboundHigh = waiting;
    watch.onQueued(waiting);
  }
  if (waiting > watch.limitBytes) {
    watch.outboundOverflowed = true;
    watch.onOverflow(waiting);
  }
}

/** A connection's engine handed its whole queue to the transport: it now waits on the wire (bufferedAmount). */
function onFlush(conn: WatchedConnection): void {
  const watch = conn[OUTBOUND];
  if (watch) watch.outboundQueued = 0;
}

/** The engine.io server of the watched sockets: it reports every connection's flush (`flush`, with the connection). */
interface FlushingEngine {
  on(event: 'flush', listener: (conn: WatchedConnection) => void): unknown;
}

/**
 * Lets {@link limitOutbound} see the flushes of `engine`'s connections: one listener on the
 * server for all of them (none per socket). Call once per server, before watching its sockets.
 */
export function watchOutboundFlushes(engine: FlushingEngine): void {
  engine.on('flush', onFlush);
}

/**
 * Watches what waits to be written to one socket: the packets queued in the engine behind the
 * transport (counted as they are created, reset when the engine hands them to the transport)
 * plus what the WebSocket has buffered and the kernel not yet taken. Checked at every packet
 * that has to wait: while the transport is writable nothing waits (the packet goes straight out,
 * however large);
 * once it waits behind data the client has not read, the first packet that brings the total
 * past `limitBytes` overflows. So what waits never exceeds the limit plus one message. Needs
 * {@link watchOutboundFlushes} on the socket's server.
 */
export function limitOutbound(watch: OutboundWatch): void {
  const { socket } = watch;
  (socket.conn as WatchedConnection)[OUTBOUND] = watch;
  socket.conn.on('packetCreate', onPacketCreate);
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

import { type Packet, PacketType } from 'socket.io-parser';
import type { GatewaySocket } from './types.ts';

/** What one encoding gives: the engine packets of one Socket.IO event (one string without binary). */
type EncodedPackets = readonly (string | Buffer)[];

/** The server's Socket.IO encoder (`io.encoder`). */
export interface PacketEncoder {
  encode(packet: Packet): (string | Buffer)[];
}

interface Encoded {
  nsp: string;
  event: string;
  packets: EncodedPackets;
}

/**
 * Socket.IO packets of the messages this gateway sends socket by socket (snapshots, replayed and
 * buffered updates), encoded once per message object and event and written to each socket as
 * they are: a storm of sockets asking for the same snapshot version (which the feed shares as one
 * object) costs one serialisation. A write is synchronous, as `socket.emit` is, so a socket
 * receives its messages in the order they were sent, whichever path each took. A message must not
 * change once sent (feeds never change theirs); an entry lives as long as its message object.
 */
export class PacketCache {
  private readonly packets = new WeakMap<object, Encoded>();

  constructor(
    private readonly encoder: PacketEncoder,
    /** A message was serialised (not taken from the cache). */
    private readonly onEncoded: (event: string) => void = () => {},
  ) {}

  /** Sends `message` as `event` to `socket`; nothing when its connection is no longer open. */
  send(socket: GatewaySocket, event: string, message: object): void {
    const conn = socket.conn;
    if (conn.readyState !== 'open') return;
    for (const packet of this.packetsOf(socket.nsp.name, event, message)) conn.write(packet);
  }

  private packetsOf(nsp: string, event: string, message: object): EncodedPackets {
    const cached = this.packets.get(message);
    if (cached?.event === event && cached.nsp === nsp) return cached.packets;
    const packets: EncodedPackets = this.encoder.encode({
      type: PacketType.EVENT,
      nsp,
      data: [event, message],
    });
    this.packets.set(message, { nsp, event, packets });
    this.onEncoded(event);
    return packets;
  }
}

import {
  type NodesInitial,
  type NodesUpdateMessage,
  type ReconnectMessage,
  type RequestError,
  rooms,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import { inSpanSync, SpanKind } from '@tideline/runtime';
import type { FeedOutlet } from '../domain/ports.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { PacketCache } from './packets.ts';
import type { GatewayServer, GatewaySocket } from './types.ts';

/** One span per delivery batch (a room broadcast), never per socket: the recipient count is its attribute. */
function emitSpan(event: string, room: string, recipients: number, emit: () => void): void {
  inSpanSync(
    `emit ${event}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'tideline.socket.event': event,
        'tideline.room': room,
        'tideline.recipients': recipients,
      },
    },
    emit,
  );
}

/**
 * The rooms a push to `room` reaches: for `room:<feed room>` (`room:websites`,
 * `room:nodes:<cluster>`) the followers of that feed, who are in the feed's own room (a cluster's
 * followers in either format: full rows and deltas); any other room as it is (`user:<uid>`; a
 * `room:<name>` that names no feed has nobody in it).
 */
export function audienceOf(room: string): string[] {
  const prefix = rooms.room('');
  if (!room.startsWith(prefix)) return [room];
  const feed = room.slice(prefix.length);
  if (feed === rooms.websites) return [feed];
  if (!feed.startsWith(rooms.nodes(''))) return [room];
  const cluster = feed.slice(rooms.nodes('').length);
  const delta = rooms.nodesDelta('');
  // `room:nodes:<cluster>:delta` names only the delta followers.
  return cluster.endsWith(delta.slice(rooms.nodes('').length))
    ? [feed]
    : [rooms.nodes(cluster), rooms.nodesDelta(cluster)];
}

/**
 * The one place messages leave this gateway for its sockets: it owns the outgoing event names,
 * the emits and `tideline_gateway_emits_total`. Feeds reach it through {@link FeedOutlet}; a
 * message addressed to a socket that is gone is dropped.
 */
export class SocketEmitter {
  /** Snapshots and updates sent socket by socket: serialised once per message, whatever the sockets. */
  private readonly packets: PacketCache;

  constructor(
    private readonly io: GatewayServer,
    private readonly metrics: GatewayMetrics,
    /**
     * TEST ONLY (TIDELINE_GATEWAY_TEST_DROP_EVERY, refused outside TIDELINE_ENV=test): skip every
     * Nth live broadcast, a deliberately broken build for the chaos checker's negative control. 0 = off.
     */
    private readonly testDropEvery = 0,
  ) {
    this.packets = new PacketCache(io.encoder, (event) => metrics.encodings.inc({ event }));
  }

  private broadcasts = 0;

  /** The negative control's fault: true for every Nth live broadcast when the test flag is set. */
  private droppedOnPurpose(): boolean {
    if (this.testDropEvery === 0) return false;
    this.broadcasts += 1;
    return this.broadcasts % this.testDropEvery === 0;
  }

  /** `connected`: the handshake was accepted. */
  connected(socket: GatewaySocket): void {
    socket.emit('connected', { ok: true });
    this.count('connected');
  }

  /** `request:error`: a client event was refused. */
  refused(socket: GatewaySocket, error: RequestError): void {
    socket.emit('request:error', error);
    this.count('request:error');
  }

  /** `server:reconnect`: this gateway drains; the socket should resume on another one. */
  reconnectElsewhere(socket: GatewaySocket, message: ReconnectMessage): void {
    socket.emit('server:reconnect', message);
    this.count('server:reconnect');
  }

  /**
   * A targeted push to the sockets of `room` on THIS gateway only (`io.local`): every gateway
   * consumes every push itself, so nothing goes through the Redis adapter. Answers how many
   * sockets it reached.
   */
  push(room: string, event: `push:${string}`, data: unknown): number {
    // `room:<feed room>` is the audience of that feed: its room, which no socket joins twice.
    const local = audienceOf(room);
    const joined = this.io.of('/').adapter.rooms;
    // A socket is in at most one of a feed's rooms (one format per cluster).
    const recipients = local.reduce((n, r) => n + (joined.get(r)?.size ?? 0), 0);
    if (recipients === 0) return 0;
    this.io.local.to(local).emit(event, data);
    this.count('push', recipients);
    return recipients;
  }

  /** The websites feed's messages (`websites:initial`, `websites:update`). */
  readonly websites: FeedOutlet<WebsitesInitial, WebsitesUpdate> = {
    ...this.rooms(),
    initial: (id, message) => this.toSocket(id, 'websites:initial', message),
    update: (id, message) => this.toSocket(id, 'websites:update', message),
    broadcast: (room, except, message, recipients) => {
      if (this.droppedOnPurpose()) return;
      emitSpan('websites:update', room, recipients, () =>
        this.io.local
          .to(room)
          .except([...except])
          .emit('websites:update', message),
      );
      this.count('websites:update', recipients);
    },
    // The websites log never ends.
    ended: () => {},
  };

  /** The messages of one cluster's nodes feed (`nodes:initial`, `nodes:update`, `nodes:removed`). */
  nodes(cluster: string): FeedOutlet<NodesInitial, NodesUpdateMessage> {
    return {
      ...this.rooms(),
      initial: (id, message) => this.toSocket(id, 'nodes:initial', message),
      update: (id, message) => this.toSocket(id, 'nodes:update', message),
      broadcast: (room, except, message, recipients) => {
        if (this.droppedOnPurpose()) return;
        emitSpan('nodes:update', room, recipients, () =>
          this.io.local
            .to(room)
            .except([...except])
            .emit('nodes:update', message),
        );
        this.count('nodes:update', recipients);
      },
      ended: (id, eventId) => this.toSocket(id, 'nodes:removed', { cluster, eventId }),
    };
  }

  /** A feed's room (also the audience of targeted pushes to `room:<name>`, see {@link audienceOf}). */
  private rooms(): Pick<FeedOutlet<unknown, unknown>, 'join' | 'leave'> {
    return {
      join: (id, room) => void this.socket(id)?.join(room),
      leave: (id, room) => void this.socket(id)?.leave(room),
    };
  }

  /** Sends a feed's message to one socket, through the packet cache (see {@link PacketCache}). */
  private toSocket(
    id: string,
    event: 'websites:initial' | 'websites:update' | 'nodes:initial' | 'nodes:update' | 'nodes:removed',
    message: object,
  ): void {
    const socket = this.socket(id);
    if (!socket) return;
    this.packets.send(socket, event, message);
    this.count(event);
  }

  private socket(id: string): GatewaySocket | undefined {
    return this.io.of('/').sockets.get(id);
  }

  private count(event: string, sockets = 1): void {
    this.metrics.emits.inc({ event }, sockets);
  }
}

import type { GatewayServer } from '../socket/types.ts';

/** Emits `event` to the sockets of `room` connected to this process; answers how many it reached. */
export type LocalRoomEmit = (room: string, event: `push:${string}`, data: unknown) => number;

/**
 * Emits to the sockets of one room on THIS gateway only (`io.local`): nothing is published to
 * the other gateways (they consume every push themselves), so the Redis adapter is never on the
 * push path.
 */
export function localRoomEmitter(io: GatewayServer): LocalRoomEmit {
  return (room, event, data) => {
    const recipients = io.of('/').adapter.rooms.get(room)?.size ?? 0;
    if (recipients > 0) io.local.to(room).emit(event, data);
    return recipients;
  };
}

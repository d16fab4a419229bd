import type { Principal } from '@tideline/auth';
import type { ClientToServerEvents, NodesUpdateMessage, ServerToClientEvents } from '@tideline/contracts';
import type { Server, Socket } from 'socket.io';
import type { Connection } from './connection.ts';

/** What the gateway keeps on each socket. */
interface SocketData {
  /** The verified token's claims; replaced by `auth:refresh`. */
  principal: Principal;
  /** The socket's own state while it is served (its listeners are shared by every socket). */
  connection?: Connection;
}

/** Events between gateways (none: gateways share only rooms). */
type InterServerEvents = Record<string, never>;

/** `nodes:update` to a subscription granted deltas carries deltas too. */
type ServerEvents = ServerToClientEvents<NodesUpdateMessage>;

export type GatewayServer = Server<ClientToServerEvents, ServerEvents, InterServerEvents, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerEvents, InterServerEvents, SocketData>;

import type { Principal } from '@tideline/auth';
import type { ClientToServerEvents, ServerToClientEvents } from '@tideline/contracts';
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

export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

import type { Server as HttpServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerEngineRefusalsWithErrorBody } from '@tideline/runtime';
import { Server } from 'socket.io';
import type { RedisRooms } from '../adapters/redis-rooms.ts';
import type { PushGatewayConfig } from '../config.ts';
import type { SocketEmitter } from '../socket/emitter.ts';
import { watchOutboundFlushes } from '../socket/outbound.ts';
import type { GatewayServer } from '../socket/types.ts';

const SOCKET_PATH = '/socket.io/';

/** The Socket.IO server at `/socket.io/` on the service's HTTP server, its rooms shared through Redis. */
export function createSocketServer(
  server: HttpServer,
  config: PushGatewayConfig,
  redis: RedisRooms,
): GatewayServer {
  const io: GatewayServer = new Server(server, {
    path: SOCKET_PATH,
    // Upgrades elsewhere are answered 404 (answerEngineRefusalsWithErrorBody), not dropped.
    destroyUpgrade: false,
    serveClient: false,
    pingInterval: config.gatewayPingIntervalMs,
    pingTimeout: config.gatewayPingTimeoutMs,
    maxHttpBufferSize: config.gatewayMaxMessageBytes,
    cors: {
      origin: config.gatewayCorsOrigins.includes('*') ? '*' : config.gatewayCorsOrigins,
      credentials: false,
    },
    adapter: redis.adapter({
      key: config.gatewayAdapterKey,
      requestsTimeoutMs: config.gatewayAdapterRequestsTimeoutMs,
    }),
  });
  // engine.io refuses bad transport/session/handshake requests itself: with the error body.
  answerEngineRefusalsWithErrorBody(server, io.engine, SOCKET_PATH);
  // The outbound limit of every socket (limitOutbound) learns of its flushes here, not per socket.
  watchOutboundFlushes(io.engine);
  return io;
}

/**
 * Drains and closes the server: tells every socket to reconnect elsewhere (`server:reconnect`, with
 * a random `retryAfterMs` so they do not all come back at once), gives them `gatewayDrainGraceMs`
 * to go, then closes their connections. The close is a transport close, so a client that ignores
 * the message still reconnects on its own and resumes from its position.
 */
export async function closeSocketServer(
  io: GatewayServer,
  emitter: SocketEmitter,
  config: PushGatewayConfig,
): Promise<void> {
  const sockets = [...io.of('/').sockets.values()];
  if (sockets.length > 0) {
    for (const socket of sockets) {
      const retryAfterMs = Math.floor(Math.random() * (config.gatewayReconnectJitterMs + 1));
      emitter.reconnectElsewhere(socket, { reason: 'draining', retryAfterMs });
    }
    await sleep(config.gatewayDrainGraceMs);
    for (const socket of io.of('/').sockets.values()) socket.conn.close();
  }
  io.local.disconnectSockets(true);
  io.engine.close();
  await io.of('/').adapter.close();
}

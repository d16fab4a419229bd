import type { Server as HttpServer, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerEngineRefusalsWithErrorBody, REQUEST_ID_HEADER, rawRequestIdOf } from '@tideline/runtime';
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
  answerWithRequestIds(server, io);
  // The outbound limit of every socket (limitOutbound) learns of its flushes here, not per socket.
  watchOutboundFlushes(io.engine);
  return io;
}

/**
 * Every answer engine.io gives itself carries the request's id, as the service's other answers
 * do: its long-polling answers (the handshake's `200` among them), CORS preflights and refusals
 * get the header before the engine sees the request; the `101 Switching Protocols` of a WebSocket
 * upgrade, which `ws` writes on the raw socket, through the engine's `headers` event (its
 * `initial_headers` is the handshake's share of it). One id per request (rawRequestIdOf): the
 * caller's `x-request-id` when it is safe, else a generated one, the same in a refusal's body.
 */
function answerWithRequestIds(server: HttpServer, io: GatewayServer): void {
  // Before Socket.IO's own listener: the engine answers these requests, Fastify never sees them.
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url?.startsWith(SOCKET_PATH)) response.setHeader(REQUEST_ID_HEADER, rawRequestIdOf(request));
  });
  io.engine.on('headers', (headers: OutgoingHttpHeaders, request: IncomingMessage) => {
    headers[REQUEST_ID_HEADER] = rawRequestIdOf(request);
  });
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

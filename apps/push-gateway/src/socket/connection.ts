import {
  AuthError,
  canReadCluster,
  hasScope,
  type Principal,
  SCOPES,
  type TokenVerifier,
} from '@tideline/auth';
import {
  type ClientEventName,
  clientEventSchemas,
  rooms,
  safeParse,
  TidelineError,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { z } from 'zod';
import { RateLimitedError } from '../domain/errors.ts';
import type { Feed } from '../domain/feed.ts';
import type { NodeFeeds } from '../domain/node-delta.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { SocketEmitter } from './emitter.ts';
import { closeWhenWritten, limitOutbound } from './outbound.ts';
import type { ClientRateLimit } from './rate-limit.ts';
import { type AckCallback, RequestRefusal, requestErrorOf } from './refusal.ts';
import { TokenExpiry } from './token-expiry.ts';
import type { GatewaySocket } from './types.ts';

/** Links connected users to this pod (packages/stateful PodPresence), best effort. */
export interface Presence {
  link(uid: string): Promise<{ ok: boolean }>;
  unlink(uid: string): Promise<boolean>;
}

export interface ConnectionOptions {
  verifier: TokenVerifier;
  websites: Feed<WebsitesInitial, WebsitesUpdate>;
  nodes: NodeFeeds;
  emitter: SocketEmitter;
  rateLimit: ClientRateLimit;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Added to a token's `exp` before the socket is disconnected (the verifier's clock tolerance). */
  expiryGraceMs: number;
  expiryCheckMaxMs: number;
  /** Bytes that may wait to be written to the socket; past them it is closed with SLOW_CONSUMER. */
  outboundQueueLimitBytes: number;
  /** How long a slow consumer has to read its last message before its connection is cut. */
  slowConsumerCloseGraceMs: number;
  presence?: Presence | undefined;
}

/** Why the gateway itself closed a socket (`request:error` code of the last message, disconnect reason label). */
type ClosedBy = 'TOKEN_EXPIRED' | 'SLOW_CONSUMER';

type PayloadOf<E extends ClientEventName> = z.output<(typeof clientEventSchemas)[E]>;

/** Why a client event failed, as the client is told: a coded error's code, else INTERNAL (never a stack trace). */
function refusalOf(error: unknown, logger: Logger, event: string): TidelineError {
  if (error instanceof TidelineError) {
    if (error.code === 'UNAVAILABLE') logger.warn({ err: error, event }, 'sync failed');
    return error;
  }
  logger.error({ err: error, event }, 'client event failed');
  return new RequestRefusal('INTERNAL', 'unexpected error; nothing changed');
}

/**
 * Serves one authenticated socket: joins `user:<uid>`, says `connected`, answers the client
 * events (each rate limited, validated against its schema, checked against the token's scopes),
 * and disconnects the socket when its token expires unless `auth:refresh` brought a fresh one.
 * A refused event is answered with `request:error` (and through the acknowledgement, when given);
 * the socket stays open and nothing changed.
 */
export function serveConnection(socket: GatewaySocket, options: ConnectionOptions): void {
  const { metrics, logger, websites, nodes, rateLimit, emitter } = options;
  const principal = (): Principal => socket.data.principal;
  const uid = principal().uid;
  metrics.connectedSockets.inc();
  let closedBy: ClosedBy | undefined;
  const closing = (reason: ClosedBy) => {
    closedBy = reason;
    metrics.disconnected(reason);
  };

  void socket.join(rooms.user(uid));
  metrics.roomJoins.inc({ room_kind: 'user' });
  const linked = options.presence?.link(uid).catch((error: unknown) => {
    logger.warn({ err: error, uid }, 'presence link failed');
    return { ok: false };
  });

  const expiry = new TokenExpiry({
    graceMs: options.expiryGraceMs,
    maxWaitMs: options.expiryCheckMaxMs,
    onExpired: () => {
      closing('TOKEN_EXPIRED');
      refuse(
        'connection',
        new RequestRefusal('TOKEN_EXPIRED', 'the token expired; reconnect with a fresh one'),
      );
      // A disconnect packet, so the client does not reconnect on its own with the expired token.
      socket.disconnect();
      socket.conn.close();
    },
  });
  expiry.extend(principal().expiresAtMs);

  function refuse(event: string, refusal: TidelineError, ack?: AckCallback): void {
    const known = event === 'connection' || Object.hasOwn(clientEventSchemas, event);
    metrics.requestErrors.inc({ event: known ? event : 'unknown', code: refusal.code });
    if (!socket.connected) return;
    const body = {
      ...requestErrorOf(event, refusal),
      ...(refusal instanceof RateLimitedError ? { retryAfterMs: refusal.retryAfterMs } : {}),
    };
    emitter.refused(socket, body);
    ack?.({ ok: false, ...body });
  }

  async function dispatch(event: string, args: unknown[], run: (payload: unknown) => Promise<void> | void) {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as AckCallback) : undefined;
    try {
      const retryAfterMs = await rateLimit.retryAfterMs(socket.id);
      if (retryAfterMs > 0) {
        throw new RateLimitedError('too many events from this socket; retry later', retryAfterMs);
      }
      // No payload reaches the event's schema as undefined: `request:websites` takes it as "from scratch".
      if (args.length > 1) throw new RequestRefusal('BAD_REQUEST', `${event} takes one payload object`);
      await run(args[0]);
      if (socket.connected) ack?.({ ok: true });
    } catch (error) {
      refuse(event, refusalOf(error, logger, event), ack);
    }
  }

  function handle<E extends ClientEventName>(
    event: E,
    run: (payload: PayloadOf<E>) => Promise<void> | void,
  ): void {
    const listener = (...args: unknown[]) =>
      void dispatch(event, args, (raw) => {
        const parsed = safeParse(clientEventSchemas[event], raw, event);
        if (!parsed.ok) throw new RequestRefusal('BAD_REQUEST', parsed.error.message, parsed.error.fields);
        return run(parsed.value as PayloadOf<E>);
      });
    socket.on(event, listener as never);
  }

  handle('request:websites', async (payload) => {
    if (!hasScope(principal(), SCOPES.websitesRead)) {
      throw new RequestRefusal('FORBIDDEN', `the token lacks scope ${SCOPES.websitesRead}`);
    }
    const { lastEventId, version } = payload;
    await websites.sync(socket.id, {
      after: lastEventId === undefined ? undefined : { eventId: lastEventId, epoch: version },
    });
  });

  handle('subscribe:nodes', async ({ cluster, lastEventId, delta }) => {
    if (!canReadCluster(principal(), cluster)) {
      throw new RequestRefusal(
        'FORBIDDEN',
        `the token lacks scope ${SCOPES.nodesRead} or ${SCOPES.nodesReadCluster(cluster)}`,
      );
    }
    await nodes.sync(
      cluster,
      socket.id,
      { after: lastEventId === undefined ? undefined : { eventId: lastEventId } },
      delta ? 'delta' : 'rows',
    );
  });

  handle('unsubscribe:nodes', ({ cluster }) => {
    nodes.leave(cluster, socket.id);
  });

  handle('auth:refresh', async ({ token }) => {
    let fresh: Principal;
    try {
      fresh = await options.verifier.verify(token);
    } catch (error) {
      if (error instanceof AuthError) metrics.authFailures.inc({ reason: error.reason });
      throw error;
    }
    if (fresh.uid !== principal().uid) {
      metrics.authFailures.inc({ reason: 'other-user' });
      throw new RequestRefusal('FORBIDDEN', 'the fresh token is for another user');
    }
    socket.data.principal = fresh;
    expiry.extend(fresh.expiresAtMs);
    // Narrower scopes take effect at once.
    if (!hasScope(fresh, SCOPES.websitesRead)) websites.remove(socket.id);
    for (const cluster of nodes.followedBy(socket.id)) {
      if (!canReadCluster(fresh, cluster)) nodes.leave(cluster, socket.id);
    }
  });

  socket.onAny((event: string, ...args: unknown[]) => {
    if (Object.hasOwn(clientEventSchemas, event)) return;
    void dispatch(String(event).slice(0, 64), args, () => {
      throw new RequestRefusal(
        'BAD_REQUEST',
        `unknown event; the client events are ${Object.keys(clientEventSchemas).join(', ')}`,
      );
    });
  });

  limitOutbound(socket, {
    limitBytes: options.outboundQueueLimitBytes,
    onQueued: (bytes) => metrics.observeOutboundQueue(bytes),
    onOverflow: (bytes) => {
      closing('SLOW_CONSUMER');
      logger.warn({ uid, socket: socket.id, queuedBytes: bytes }, 'slow consumer: closing its connection');
      // Queued behind what already waits: a client that reads again learns why, then sees the close.
      refuse(
        'connection',
        new RequestRefusal(
          'SLOW_CONSUMER',
          `more than ${options.outboundQueueLimitBytes} bytes waited for this socket to read them; reconnect and resume from lastEventId`,
        ),
      );
      closeWhenWritten(socket, options.slowConsumerCloseGraceMs);
      // Nothing more is sent to it (its connection refuses packets from now on): out of the feeds,
      // once the emit that overflowed it has returned.
      queueMicrotask(() => {
        websites.remove(socket.id);
        nodes.leaveAll(socket.id);
      });
    },
  });

  socket.on('disconnect', (reason) => {
    if (closedBy === undefined) metrics.disconnected(reason);
    expiry.clear();
    websites.remove(socket.id);
    nodes.leaveAll(socket.id);
    rateLimit.forget(socket.id);
    metrics.connectedSockets.dec();
    void linked
      ?.then((result) => (result.ok ? options.presence?.unlink(uid) : false))
      .catch((error: unknown) => logger.warn({ err: error, uid }, 'presence unlink failed'));
  });

  emitter.connected(socket);
}

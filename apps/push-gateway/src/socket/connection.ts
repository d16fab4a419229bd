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
import { type ConnectionCap, releaseLease, takeLease } from './handshake.ts';
import { closeWhenWritten, limitOutbound, type OutboundWatch } from './outbound.ts';
import type { ClientRateLimit, RateWindow } from './rate-limit.ts';
import { type AckCallback, RequestRefusal, requestErrorOf } from './refusal.ts';
import type { ScopePool } from './scope-pool.ts';
import type { ExpiringToken, TokenExpiries } from './token-expiry.ts';
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
  /** The gateway's token expiries (one queue, one timer): a socket is disconnected when its token expires. */
  expiries: TokenExpiries;
  /** Where a principal's scopes are shared with the other sockets holding the same ones. */
  scopes: ScopePool;
  /** The per-user connection cap the handshake counted this socket in; unset: none. */
  cap?: ConnectionCap | undefined;
  /** Bytes that may wait to be written to the socket; past them it is closed with SLOW_CONSUMER. */
  outboundQueueLimitBytes: number;
  /** How long a slow consumer has to read its last message before its connection is cut. */
  slowConsumerCloseGraceMs: number;
  presence?: Presence | undefined;
}

/** Why the gateway itself closed a socket (`request:error` code of the last message, disconnect reason label). */
type ClosedBy = 'TOKEN_EXPIRED' | 'SLOW_CONSUMER';

/**
 * The socket's link in the presence store: being made, made (to be undone when the socket
 * leaves), not made (failed, or refused), or being made while the socket already left (undone as
 * soon as it is made).
 */
type PresenceLink = 'linking' | 'linked' | 'unlinked' | 'linking-left';

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
 * The answer to each client event, given the event's validated payload: shared by every socket
 * (a socket's own state is its {@link Connection}).
 */
const handlers: { [E in ClientEventName]: (c: Connection, payload: PayloadOf<E>) => Promise<void> | void } = {
  'request:websites': async (c, payload) => {
    if (!hasScope(c.principal, SCOPES.websitesRead)) {
      throw new RequestRefusal('FORBIDDEN', `the token lacks scope ${SCOPES.websitesRead}`);
    }
    const { lastEventId, version } = payload;
    await c.options.websites.sync(c.socket.id, {
      after: lastEventId === undefined ? undefined : { eventId: lastEventId, epoch: version },
    });
  },

  'subscribe:nodes': async (c, { cluster, lastEventId, delta }) => {
    if (!canReadCluster(c.principal, cluster)) {
      throw new RequestRefusal(
        'FORBIDDEN',
        `the token lacks scope ${SCOPES.nodesRead} or ${SCOPES.nodesReadCluster(cluster)}`,
      );
    }
    await c.options.nodes.sync(
      cluster,
      c.socket.id,
      { after: lastEventId === undefined ? undefined : { eventId: lastEventId } },
      delta ? 'delta' : 'rows',
    );
  },

  'unsubscribe:nodes': (c, { cluster }) => {
    c.options.nodes.leave(cluster, c.socket.id);
  },

  'auth:refresh': async (c, { token }) => {
    const { metrics, verifier, websites, nodes } = c.options;
    let fresh: Principal;
    try {
      fresh = await verifier.verify(token);
    } catch (error) {
      if (error instanceof AuthError) metrics.authFailures.inc({ reason: error.reason });
      throw error;
    }
    if (fresh.uid !== c.principal.uid) {
      metrics.authFailures.inc({ reason: 'other-user' });
      throw new RequestRefusal('FORBIDDEN', 'the fresh token is for another user');
    }
    // It left while the token was checked: nothing to extend (queued again, it would be told its
    // token expired, and counted so, long after it left).
    if (!c.socket.connected) return;
    c.socket.data.principal = c.options.scopes.share(fresh);
    c.options.expiries.set(c, fresh.expiresAtMs);
    // Narrower scopes take effect at once.
    if (!hasScope(fresh, SCOPES.websitesRead)) websites.remove(c.socket.id);
    for (const cluster of nodes.followedBy(c.socket.id)) {
      if (!canReadCluster(fresh, cluster)) nodes.leave(cluster, c.socket.id);
    }
  },
};

function connectionOf(socket: GatewaySocket): Connection | undefined {
  return socket.data.connection;
}

const knownEvents = Object.keys(clientEventSchemas).join(', ');

function refuseUnknown(): never {
  throw new RequestRefusal('BAD_REQUEST', `unknown event; the client events are ${knownEvents}`);
}

/** Every client event of every socket arrives here (`this` is the socket): one listener, no closures. */
function onClientEvent(this: GatewaySocket, event: string, ...args: unknown[]): void {
  const connection = connectionOf(this);
  if (!connection) return;
  if (Object.hasOwn(handlers, event)) {
    const handler = handlers[event as ClientEventName] as (c: Connection, payload: unknown) => unknown;
    void connection.dispatch(event, args, handler);
  } else {
    void connection.dispatch(String(event).slice(0, 64), args, refuseUnknown);
  }
}

type ClientEventListener = (this: GatewaySocket, event: string, ...args: unknown[]) => void;

/**
 * The catch-all listeners of every served socket, one frozen list shared by all: Socket.IO's
 * `onAny` would give each socket an array of its own (~180 B). Socket.IO only reads the list (it
 * calls a copy of it); frozen, an `onAny`/`offAny(listener)` on a served socket throws instead of
 * changing every socket's listeners.
 */
const CLIENT_EVENT_LISTENERS: readonly ClientEventListener[] = Object.freeze([onClientEvent]);

/** Where Socket.IO (4.x) keeps a socket's catch-all listeners. */
interface AnyListeners {
  _anyListeners?: readonly ClientEventListener[];
}

function listenToClientEvents(socket: GatewaySocket): void {
  const internals = socket as unknown as AnyListeners;
  if (internals._anyListeners === undefined) internals._anyListeners = CLIENT_EVENT_LISTENERS;
  else socket.onAny(onClientEvent);
}

function onDisconnect(this: GatewaySocket, reason: string): void {
  connectionOf(this)?.onDisconnect(reason);
}

/**
 * One authenticated socket's state, all of it in this one object: its listeners are shared by
 * every socket, and it is its own token-expiry entry, outbound-limit watch and rate-limit window,
 * so a connection holds no closures, timers or entries of its own elsewhere.
 */
export class Connection implements ExpiringToken, OutboundWatch, RateWindow {
  closedBy: ClosedBy | undefined;
  readonly uid: string;
  /** Whether this connection gives back the socket's place in its user's count (the cap) when it leaves. */
  private leased = false;
  private presenceLink: PresenceLink | undefined;
  // ---- ExpiringToken (owned by options.expiries) ----------------------------------------------
  expiryDeadlineMs = 0;
  expiryIndex = -1;
  // ---- RateWindow (owned by options.rateLimit) ------------------------------------------------
  rateWindowEndsAtMs = 0;
  rateWindowUsed = 0;
  // ---- OutboundWatch (owned by limitOutbound) -------------------------------------------------
  outboundQueued = 0;
  outboundHigh = 0;
  outboundOverflowed = false;

  constructor(
    readonly socket: GatewaySocket,
    readonly options: ConnectionOptions,
  ) {
    this.uid = socket.data.principal.uid;
  }

  get principal(): Principal {
    return this.socket.data.principal;
  }

  onExpired(): void {
    this.closing('TOKEN_EXPIRED');
    this.refuse(
      'connection',
      new RequestRefusal('TOKEN_EXPIRED', 'the token expired; reconnect with a fresh one'),
    );
    // A disconnect packet, so the client does not reconnect on its own with the expired token.
    this.socket.disconnect();
    this.socket.conn.close();
  }

  get limitBytes(): number {
    return this.options.outboundQueueLimitBytes;
  }

  onQueued(bytes: number): void {
    this.options.metrics.observeOutboundQueue(bytes);
  }

  onOverflow(bytes: number): void {
    const { logger, outboundQueueLimitBytes, slowConsumerCloseGraceMs } = this.options;
    this.closing('SLOW_CONSUMER');
    logger.warn(
      { uid: this.uid, socket: this.socket.id, queuedBytes: bytes },
      'slow consumer: closing its connection',
    );
    // Queued behind what already waits: a client that reads again learns why, then sees the close.
    this.refuse(
      'connection',
      new RequestRefusal(
        'SLOW_CONSUMER',
        `more than ${outboundQueueLimitBytes} bytes waited for this socket to read them; reconnect and resume from lastEventId`,
      ),
    );
    closeWhenWritten(this.socket, slowConsumerCloseGraceMs);
    // Nothing more is sent to it (its connection refuses packets from now on): out of the feeds,
    // once the emit that overflowed it has returned.
    queueMicrotask(() => this.leaveFeeds());
  }

  // ---- lifecycle ------------------------------------------------------------------------------
  start(): void {
    const { socket, options } = this;
    const { metrics, presence } = options;
    socket.data.connection = this;
    socket.data.principal = options.scopes.share(socket.data.principal);
    // Connected: its disconnect is certain now, so it gives back its place in the count then.
    this.leased = takeLease(socket);
    metrics.connectedSockets.inc();
    void socket.join(rooms.user(this.uid));
    metrics.roomJoins.inc({ room_kind: 'user' });
    if (presence) {
      this.presenceLink = 'linking';
      presence.link(this.uid).then(
        (result) => this.linked(result.ok),
        (error: unknown) => {
          options.logger.warn({ err: error, uid: this.uid }, 'presence link failed');
          this.linked(false);
        },
      );
    }
    options.expiries.set(this, this.principal.expiresAtMs);
    listenToClientEvents(socket);
    limitOutbound(this);
    socket.on('disconnect', onDisconnect);
    options.emitter.connected(socket);
  }

  onDisconnect(reason: string): void {
    const { metrics, cap } = this.options;
    if (this.closedBy === undefined) metrics.disconnected(reason);
    this.options.expiries.clear(this);
    this.leaveFeeds();
    metrics.connectedSockets.dec();
    if (this.leased && cap) {
      this.leased = false;
      releaseLease(cap, this.uid, this.socket.id);
    }
    if (this.presenceLink === 'linked') this.unlink();
    else if (this.presenceLink === 'linking') this.presenceLink = 'linking-left';
  }

  /** The presence link was made (`ok`) or not; a socket that left meanwhile is unlinked at once. */
  private linked(ok: boolean): void {
    const left = this.presenceLink === 'linking-left';
    this.presenceLink = ok ? 'linked' : 'unlinked';
    if (ok && left) this.unlink();
  }

  private unlink(): void {
    const { presence, logger } = this.options;
    this.presenceLink = 'unlinked';
    const uid = this.uid;
    presence
      ?.unlink(uid)
      .catch((error: unknown) => logger.warn({ err: error, uid }, 'presence unlink failed'));
  }

  private leaveFeeds(): void {
    this.options.websites.remove(this.socket.id);
    this.options.nodes.leaveAll(this.socket.id);
  }

  private closing(reason: ClosedBy): void {
    this.closedBy = reason;
    this.options.metrics.disconnected(reason);
  }

  refuse(event: string, refusal: TidelineError, ack?: AckCallback): void {
    const known = event === 'connection' || Object.hasOwn(clientEventSchemas, event);
    this.options.metrics.requestErrors.inc({ event: known ? event : 'unknown', code: refusal.code });
    if (!this.socket.connected) return;
    const body = {
      ...requestErrorOf(event, refusal),
      ...(refusal instanceof RateLimitedError ? { retryAfterMs: refusal.retryAfterMs } : {}),
    };
    this.options.emitter.refused(this.socket, body);
    ack?.({ ok: false, ...body });
  }

  /**
   * Runs one client event: rate limited, one payload validated against the event's schema (when
   * it has one), then `run`; answered through the acknowledgement, or refused.
   */
  async dispatch(
    event: string,
    args: unknown[],
    run: (c: Connection, payload: unknown) => Promise<unknown> | unknown,
  ): Promise<void> {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as AckCallback) : undefined;
    try {
      const retryAfterMs = this.options.rateLimit.retryAfterMs(this);
      if (retryAfterMs > 0) {
        throw new RateLimitedError('too many events from this socket; retry later', retryAfterMs);
      }
      // No payload reaches the event's schema as undefined: `request:websites` takes it as "from scratch".
      if (args.length > 1) throw new RequestRefusal('BAD_REQUEST', `${event} takes one payload object`);
      let payload = args[0];
      if (Object.hasOwn(clientEventSchemas, event)) {
        const parsed = safeParse(clientEventSchemas[event as ClientEventName], payload, event);
        if (!parsed.ok) throw new RequestRefusal('BAD_REQUEST', parsed.error.message, parsed.error.fields);
        payload = parsed.value;
      }
      await run(this, payload);
      if (this.socket.connected) ack?.({ ok: true });
    } catch (error) {
      this.refuse(event, refusalOf(error, this.options.logger, event), ack);
    }
  }
}

/**
 * Serves one authenticated socket: joins `user:<uid>`, says `connected`, answers the client
 * events (each rate limited, validated against its schema, checked against the token's scopes),
 * and disconnects the socket when its token expires unless `auth:refresh` brought a fresh one.
 * A refused event is answered with `request:error` (and through the acknowledgement, when given);
 * the socket stays open and nothing changed.
 */
export function serveConnection(socket: GatewaySocket, options: ConnectionOptions): void {
  new Connection(socket, options).start();
}

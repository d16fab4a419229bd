import { CLIENT_DEFAULTS as DEFAULTS } from '@tideline/config/client-defaults';
import type {
  Ack,
  ClientToServerEvents,
  NodesInitial,
  NodesRemoved,
  NodesUpdateMessage,
  NodeView,
  RequestError,
  ServerToClientEvents,
  WebsiteItem,
  WebsitesInitial,
  WebsitesUpdate,
} from '@tideline/contracts';
import { applyNodePatch, isNodesDeltaUpdate, type NodePatch, retryDelayMs } from '@tideline/contracts';
import { io as defaultIo, type Socket } from 'socket.io-client';
import { type CollectionTransport, DISCONNECTED, LiveCollection, type SyncOutcome } from './collection.ts';
import { codeOf, TidelineClientError } from './errors.ts';
import type { ReplicaUpdate } from './replica.ts';
import { expiryOf } from './token.ts';

/** Doublings of the first reconnect delay before the cap applies (the exponent's bound). */
const MAX_BACKOFF_DOUBLINGS = 10;

/**
 * The connection at a glance (one word, e.g. for an indicator): `live` when connected and every
 * collection is current, `resyncing` while one catches up, `offline` between connections (at
 * once after `disconnect()` or a lost connection, never `resyncing` on the way), `failed` when
 * the client gave up (see {@link TidelineClient.state} for the code and reason).
 */
export type ConnectionStatus = 'connecting' | 'live' | 'resyncing' | 'offline' | 'failed';

/**
 * The client's state, with the reason when it is not connected:
 * - `connecting`: a connection is being opened;
 * - `connected`: the gateway accepted the connection;
 * - `disconnected`: not connected — `reconnecting` tells whether it will try again by itself
 *   (`NOT_CONNECTED` before `connect()`, `CLIENT_DISCONNECT` after `disconnect()`, `CLIENT_CLOSED`
 *   after `close()`, else why the connection was lost: `TRANSPORT_CLOSED`, `SLOW_CONSUMER`, …);
 * - `failed`: it gave up for good (UNAUTHORIZED, TOKEN_EXPIRED with a fixed token, `getToken`
 *   returned no token); `connect()` may be called again once the cause is fixed.
 */
export type ClientState =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'disconnected'; code: string; reason: string; reconnecting: boolean }
  | { state: 'failed'; code: string; reason: string };

export type ClientError = RequestError | { code: string; message: string };

export interface ConnectOptions {
  /** One gateway URL, or several: a reconnect moves to the next one. */
  url: string | string[];
  /** A fixed token; or `getToken`, asked at every (re)connect and before expiry. */
  token?: string;
  /**
   * Asked for a token at every (re)connect and before expiry. Returning null/undefined, or
   * throwing an error whose `code` is `UNAUTHORIZED`, means "signed out": the client fails for
   * good. Any other error is retried with backoff.
   */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Connect at construction. `new TidelineClient()` defaults to false, the `connect()` factory to true. */
  autoConnect?: boolean;
  /** Refresh (`auth:refresh`) this long before the token expires. Default: {@link CLIENT_DEFAULTS}. */
  refreshBeforeExpiryMs?: number;
  /** Reconnect (and failed-sync retry) backoff: first delay and cap, with jitter. Default: {@link CLIENT_DEFAULTS}. */
  reconnectDelayMs?: { initial: number; max: number };
  /** How long to wait for the server to acknowledge a request. Default: {@link CLIENT_DEFAULTS}. */
  requestTimeoutMs?: number;
  /** How often a sync refused with RATE_LIMITED and `retryAfterMs` is sent again. Default: {@link CLIENT_DEFAULTS}. */
  rateLimitedRetries?: number;
  /**
   * Ask for delta `nodes:update` messages (only the changed fields of a node) instead of full
   * rows; the replicas end identical either way. A gateway that predates deltas refuses the
   * field: the client then subscribes again without it on that connection. Default: false.
   */
  nodeDeltas?: boolean;
  path?: string;
  /** The socket.io-client `io` function (tests may pass their own build). */
  io?: typeof defaultIo;
}

type TidelineSocket = Socket<ServerToClientEvents<NodesUpdateMessage>, ClientToServerEvents>;
type TokenOutcome = { ok: true; token: string } | { ok: false; terminal: boolean; reason: string };

/**
 * The SDK's tunables and their defaults (kept in packages/config, `client-defaults`, with the
 * project's other tunables). The SDK runs in browsers, where no `TIDELINE_*` environment exists,
 * so these are set per connection through {@link ConnectOptions}.
 */
export const CLIENT_DEFAULTS: Readonly<
  Required<
    Pick<
      ConnectOptions,
      'refreshBeforeExpiryMs' | 'reconnectDelayMs' | 'requestTimeoutMs' | 'rateLimitedRetries'
    >
  >
> = DEFAULTS;

const NOT_CONNECTED: ClientState = {
  state: 'disconnected',
  code: 'NOT_CONNECTED',
  reason: 'connect() was not called yet',
  reconnecting: false,
};

/**
 * A connection to the push-gateways. Nothing is opened until {@link connect} (or `autoConnect`).
 * Collections stay current across disconnects: after a reconnect — or `disconnect()` then
 * `connect()` — each resumes from its position (the server replays what was missed, or sends a
 * fresh snapshot), duplicates are ignored and gaps trigger a replay. `close()` is final.
 */
export class TidelineClient {
  private socket: TidelineSocket | undefined;
  private readonly urls: string[];
  private urlIndex = 0;
  private attempt = 0;
  /** Connections the gateway closed as a slow consumer; the reconnect backs off by them. */
  private slowConsumerCloses = 0;
  private currentState: ClientState = NOT_CONNECTED;
  private currentStatus: ConnectionStatus = 'offline';
  /** connect() was called and neither disconnect(), close() nor a terminal failure followed. */
  private wanted = false;
  private isClosed = false;
  /** Bumped by every open and stop: a token fetched for an older attempt is dropped. */
  private generation = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private token: string | undefined;
  /** The current connection's gateway refused `delta` in `subscribe:nodes` (it predates deltas). */
  private deltasRefused = false;
  private websitesCollection: LiveCollection<WebsiteItem> | undefined;
  private readonly nodeCollections = new Map<string, LiveCollection<NodeView>>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private readonly stateListeners = new Set<(state: ClientState) => void>();
  private readonly errorListeners = new Set<(error: ClientError) => void>();
  private readonly pushListeners = new Map<string, Set<(data: unknown) => void>>();
  /** The push events the current socket has a handler for (one each). */
  private readonly socketPushEvents = new Set<string>();
  private readonly options: ConnectOptions & typeof CLIENT_DEFAULTS;

  constructor(options: ConnectOptions) {
    if (!options.token && !options.getToken) throw new Error('connect() needs a token or getToken');
    this.options = { ...CLIENT_DEFAULTS, ...options };
    this.urls = Array.isArray(options.url) ? [...options.url] : [options.url];
    if (this.urls.length === 0) throw new Error('connect() needs at least one url');
    this.token = options.token;
    if (options.autoConnect) this.connect();
  }

  /** The connection at a glance; see {@link ConnectionStatus}. */
  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** The client's state with its reason; see {@link ClientState}. */
  get state(): ClientState {
    return this.currentState;
  }

  /** True after {@link close}: the client cannot connect again. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The URL of the gateway this client uses (or tries) now. */
  get currentUrl(): string {
    return this.urls[this.urlIndex]!;
  }

  /**
   * Opens the connection (no-op while connecting or connected). After `disconnect()` or a
   * failure, collections resume from their positions. Throws after `close()`.
   */
  connect(): this {
    if (this.isClosed) throw new TidelineClientError('CLOSED', 'this client was closed; create a new one');
    if (this.wanted) return this;
    this.wanted = true;
    this.attempt = 0;
    this.setState({ state: 'connecting' });
    this.open();
    return this;
  }

  /** Closes the connection and stays disconnected; collections keep their lists and resume on `connect()`. */
  disconnect(): void {
    if (this.isClosed) return;
    this.stop({
      state: 'disconnected',
      code: 'CLIENT_DISCONNECT',
      reason: 'disconnect() was called',
      reconnecting: false,
    });
  }

  /** Closes the connection and every collection, for good. */
  close(): void {
    if (this.isClosed) return;
    this.stop({
      state: 'disconnected',
      code: 'CLIENT_CLOSED',
      reason: 'close() was called',
      reconnecting: false,
    });
    this.isClosed = true;
    for (const collection of this.allCollections()) collection.close();
  }

  /** Calls `listener` when {@link status} changes. Returns an unsubscribe. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  }

  /** Calls `listener` when {@link state} changes. Returns an unsubscribe. */
  onState(listener: (state: ClientState) => void): () => void {
    this.stateListeners.add(listener);
    return () => void this.stateListeners.delete(listener);
  }

  /** Refused requests and handshakes (`request:error`, `connect_error`). Returns an unsubscribe. */
  onError(listener: (error: ClientError) => void): () => void {
    this.errorListeners.add(listener);
    return () => void this.errorListeners.delete(listener);
  }

  /** Targeted pushes (`push:*` events) sent by backend services to this user or its rooms. Returns an unsubscribe. */
  onPush(event: `push:${string}`, listener: (data: unknown) => void): () => void {
    const set = this.pushListeners.get(event) ?? new Set();
    set.add(listener);
    this.pushListeners.set(event, set);
    if (this.socket) this.listenForPush(this.socket, event);
    return () => void set.delete(listener);
  }

  /** The websites list, live (one shared collection until it is closed; a closed one after `close()`). */
  websites(): LiveCollection<WebsiteItem> {
    if (this.websitesCollection) return this.websitesCollection;
    const collection = new LiveCollection<WebsiteItem>(
      'websites',
      {
        keyOf: (w) => String(w.website_id),
        keyOfDeleted: (d) => String(d['website_id']),
        deleteTypes: ['delete'],
      },
      // The wire keeps its two fields: `request:websites` takes `{ lastEventId, version }`.
      (position) =>
        position === undefined
          ? {}
          : { lastEventId: position.eventId, ...(position.epoch ? { version: position.epoch } : {}) },
    );
    if (this.isClosed) return closedAlready(collection);
    this.websitesCollection = collection;
    collection.onClose(() => {
      if (this.websitesCollection === collection) this.websitesCollection = undefined;
      this.recomputeStatus();
    });
    this.watchCollection(collection);
    if (this.socket?.connected) void collection.sync(this.transportFor('request:websites'));
    return collection;
  }

  /**
   * The nodes of one cluster, live (one shared collection per cluster until it is closed). When
   * the cluster is unregistered the collection reports a `removed` change, empties and goes idle,
   * and the client forgets it: a later call subscribes anew. A closed collection is forgotten too.
   */
  nodes(cluster: string): LiveCollection<NodeView> {
    const known = this.nodeCollections.get(cluster);
    if (known) return known;
    const collection = new LiveCollection<NodeView>(
      `nodes:${cluster}`,
      {
        keyOf: (n) => n.name,
        keyOfDeleted: (d) => String(d['name']),
        deleteTypes: ['deleted'],
        applyPatch: (node, patch) => applyNodePatch(node, patch as NodePatch),
      },
      (position) => ({
        cluster,
        ...(position === undefined ? {} : { lastEventId: position.eventId }),
        ...(this.options.nodeDeltas && !this.deltasRefused ? { delta: true } : {}),
      }),
    );
    if (this.isClosed) return closedAlready(collection);
    this.nodeCollections.set(cluster, collection);
    collection.onClose(() => {
      if (this.nodeCollections.get(cluster) === collection) this.nodeCollections.delete(cluster);
      this.recomputeStatus();
    });
    this.watchCollection(collection);
    if (this.socket?.connected) void collection.sync(this.transportFor('subscribe:nodes', cluster));
    return collection;
  }

  /** The websites collection if one is open, without opening one. */
  findWebsites(): LiveCollection<WebsiteItem> | undefined {
    return this.websitesCollection;
  }

  /** The nodes collection of `cluster` if one is open, without subscribing. */
  findNodes(cluster: string): LiveCollection<NodeView> | undefined {
    return this.nodeCollections.get(cluster);
  }

  // ---- connection ---------------------------------------------------------------------------

  /** A token to connect with now without asking `getToken`: the fixed one, or one not near expiry. */
  private usableToken(): string | undefined {
    if (!this.options.getToken) return this.token;
    if (!this.token) return undefined;
    const expiresAt = expiryOf(this.token);
    if (expiresAt !== undefined && expiresAt - Date.now() < this.options.refreshBeforeExpiryMs)
      return undefined;
    return this.token;
  }

  private async fetchToken(): Promise<TokenOutcome> {
    try {
      const token = await this.options.getToken!();
      if (!token) return { ok: false, terminal: true, reason: 'getToken returned no token' };
      this.token = token;
      return { ok: true, token };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, terminal: codeOf(error) === 'UNAUTHORIZED', reason: `getToken failed: ${message}` };
    }
  }

  private open(): void {
    const generation = ++this.generation;
    const token = this.usableToken();
    if (token !== undefined) {
      this.openSocket(token);
      return;
    }
    void this.fetchToken().then((outcome) => {
      if (generation !== this.generation || !this.wanted) return;
      if (outcome.ok) this.openSocket(outcome.token);
      else if (outcome.terminal) this.fail('UNAUTHORIZED', outcome.reason);
      else {
        this.notifyError({ code: 'UNAVAILABLE', message: outcome.reason });
        this.lost('UNAVAILABLE', outcome.reason);
      }
    });
  }

  private openSocket(token: string): void {
    const ioFn = this.options.io ?? defaultIo;
    const socket: TidelineSocket = ioFn(this.currentUrl, {
      path: this.options.path ?? '/socket.io/',
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token },
    });
    this.socket = socket;
    this.deltasRefused = false;
    this.socketPushEvents.clear();
    socket.on('connect', () => this.onConnect(socket));
    socket.on('connect_error', (error: Error & { data?: { code?: string; reason?: string } }) => {
      if (socket !== this.socket) return;
      const code = error.data?.code ?? 'UNAVAILABLE';
      this.notifyError({ code, message: error.message });
      // A token the gateway refuses will be refused again: give up (unless its keys were unavailable).
      if (code === 'UNAUTHORIZED' && error.data?.reason !== 'keys-unavailable') {
        this.fail(code, error.message);
        return;
      }
      if (code === 'TOKEN_EXPIRED') {
        if (!this.options.getToken) {
          this.fail(code, `${error.message} (a fixed token cannot be renewed: pass getToken)`);
          return;
        }
        this.token = undefined;
      }
      // The user already holds the most sockets allowed: a quick retry cannot succeed, so wait the
      // longest backoff delay (another tab or device has to close first).
      if (code === 'TOO_MANY_CONNECTIONS') this.attempt = Math.max(this.attempt, MAX_BACKOFF_DOUBLINGS);
      this.lost(code, error.message);
    });
    socket.on('disconnect', (reason) => {
      if (socket !== this.socket || reason === 'io client disconnect') return;
      this.lost('TRANSPORT_CLOSED', reason);
    });
    socket.on('server:reconnect', (message) => {
      if (socket !== this.socket) return;
      // The gateway is draining: go to the next one at once and resume there.
      this.attempt = 0;
      this.lost('SERVER_RECONNECT', message?.reason ?? 'the gateway asked to reconnect', true);
    });
    socket.on('websites:initial', (message: WebsitesInitial) => this.websitesCollection?.onSnapshot(message));
    socket.on('websites:update', (message: WebsitesUpdate) => this.websitesCollection?.onUpdate(message));
    socket.on('nodes:initial', (message: NodesInitial) =>
      this.nodeCollections.get(message.cluster)?.onSnapshot(message),
    );
    socket.on('nodes:update', (message: NodesUpdateMessage) =>
      this.nodeCollections.get(message.cluster)?.onUpdate(nodeReplicaUpdate(message)),
    );
    socket.on('nodes:removed', (message: NodesRemoved) => this.onClusterRemoved(message));
    socket.on('request:error', (error: RequestError) => {
      this.notifyError(error);
      if (socket !== this.socket || error.event !== 'connection') return;
      if (error.code === 'SLOW_CONSUMER') {
        // The gateway closes this connection (it fell too far behind reading): nothing after this
        // message is applied; reconnect with backoff and resume every collection from its position.
        this.slowConsumerCloses++;
        this.attempt = Math.max(this.attempt, this.slowConsumerCloses);
        this.lost(error.code, error.message);
      } else if (error.code === 'TOKEN_EXPIRED') {
        // The gateway closes the connection next. A fixed token cannot be renewed: stop here.
        if (!this.options.getToken) {
          this.fail(error.code, `${error.message} (a fixed token cannot be renewed: pass getToken)`);
          return;
        }
        this.token = undefined;
        this.lost(error.code, error.message);
      }
    });
    for (const event of this.pushListeners.keys()) this.listenForPush(socket, event);
  }

  private listenForPush(socket: TidelineSocket, event: string): void {
    if (this.socketPushEvents.has(event)) return;
    this.socketPushEvents.add(event);
    socket.on(event as `push:${string}`, (data: unknown) => this.dispatchPush(event, data));
  }

  private onConnect(socket: TidelineSocket): void {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.setState({ state: 'connected' });
    this.scheduleRefresh();
    if (this.websitesCollection) void this.websitesCollection.sync(this.transportFor('request:websites'));
    for (const [cluster, collection] of this.nodeCollections)
      void collection.sync(this.transportFor('subscribe:nodes', cluster));
  }

  /**
   * Tears the socket down, detaches the collections (they keep their lists for the resume) and
   * settles in `state`. The state is the client's before the collections detach, so their
   * `resyncing` is judged against it: the status goes straight to `offline`, never `resyncing`.
   */
  private dropSocket(state: ClientState): void {
    clearTimeout(this.refreshTimer);
    clearTimeout(this.reconnectTimer);
    const old = this.socket;
    this.socket = undefined;
    old?.removeAllListeners();
    old?.disconnect();
    this.currentState = state;
    for (const collection of this.allCollections()) collection.detach();
    this.setState(state);
  }

  /** The connection was lost or refused: disconnected with the reason, then a reconnect after a backoff delay. */
  private lost(code: string, reason: string, immediately = false): void {
    if (!this.wanted) return;
    this.generation++;
    this.dropSocket({ state: 'disconnected', code, reason, reconnecting: true });
    const delay = immediately ? 0 : this.backoffMs(this.attempt);
    this.attempt++;
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.reconnectTimer = setTimeout(() => {
      if (!this.wanted) return;
      this.setState({ state: 'connecting' });
      this.open();
    }, delay);
  }

  /** Stops connecting (disconnect, close, failure) and settles in `state`. */
  private stop(state: ClientState): void {
    this.wanted = false;
    this.generation++;
    this.dropSocket(state);
  }

  /** Gives up for good: no reconnect; pending `whenSynced()` promises reject with the code. */
  private fail(code: string, reason: string): void {
    this.stop({ state: 'failed', code, reason });
    const error = new TidelineClientError(code, reason);
    for (const collection of this.allCollections()) collection.rejectWaiters(error);
  }

  /**
   * A delay for attempt `attempt`: the first delay doubled per attempt up to the cap, with equal
   * jitter (between half that and all of it: many tabs spread out, none retries in a hot loop).
   */
  private backoffMs(attempt: number): number {
    const { initial, max } = this.options.reconnectDelayMs;
    return retryDelayMs(
      { initialMs: initial, maxMs: max, jitter: 'equal' },
      Math.min(attempt, MAX_BACKOFF_DOUBLINGS),
    );
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (!this.options.getToken || !this.token) return;
    const expiresAt = expiryOf(this.token);
    if (expiresAt === undefined) return;
    const delay = Math.max(0, expiresAt - Date.now() - this.options.refreshBeforeExpiryMs);
    this.refreshTimer = setTimeout(async () => {
      const socket = this.socket;
      if (!socket?.connected) return;
      const outcome = await this.fetchToken();
      if (socket !== this.socket) return;
      if (!outcome.ok) {
        if (outcome.terminal) {
          this.fail('UNAUTHORIZED', outcome.reason);
          return;
        }
        this.notifyError({ code: 'UNAVAILABLE', message: `token refresh failed: ${outcome.reason}` });
      } else {
        try {
          const ack = await socket
            .timeout(this.options.requestTimeoutMs)
            .emitWithAck('auth:refresh', { token: outcome.token });
          if (!ack.ok) this.notifyError(ack);
        } catch (error) {
          this.notifyError({
            code: 'UNAVAILABLE',
            message: `token refresh failed: ${(error as Error).message}`,
          });
        }
      }
      if (socket === this.socket) this.scheduleRefresh();
    }, delay);
  }

  private transportFor(event: 'request:websites' | 'subscribe:nodes', cluster?: string): CollectionTransport {
    const gone: SyncOutcome = { ok: false, code: DISCONNECTED, message: 'the connection went away' };
    return {
      request: async (asked: Record<string, unknown>): Promise<SyncOutcome> => {
        let payload = asked;
        const socket = this.socket;
        for (let retries = 0; ; retries++) {
          if (!socket?.connected || socket !== this.socket) return gone;
          let ack: Ack;
          try {
            ack = await socket.timeout(this.options.requestTimeoutMs).emitWithAck(event, payload as never);
          } catch {
            if (socket !== this.socket) return gone;
            return {
              ok: false,
              code: 'TIMEOUT',
              message: `${event} was not acknowledged within ${this.options.requestTimeoutMs} ms`,
            };
          }
          if (ack.ok) return { ok: true };
          if (ack.code === 'BAD_REQUEST' && payload['delta'] === true) {
            // A gateway that predates deltas refuses the field: full rows on this connection.
            this.deltasRefused = true;
            const { delta: _refused, ...rows } = payload;
            payload = rows;
            continue;
          }
          this.notifyError(ack);
          // Asked again too soon (e.g. a snapshot it was sent a moment ago): wait as told, then once more.
          if (
            ack.code !== 'RATE_LIMITED' ||
            ack.retryAfterMs === undefined ||
            retries >= this.options.rateLimitedRetries
          )
            return { ok: false, code: ack.code, message: ack.message };
          await new Promise((resolve) => setTimeout(resolve, ack.retryAfterMs));
        }
      },
      retryDelayMs: (attempt) => this.backoffMs(attempt),
      ...(cluster === undefined
        ? {}
        : { release: () => void this.socket?.emit('unsubscribe:nodes', { cluster }) }),
    };
  }

  private watchCollection(collection: LiveCollection<WebsiteItem> | LiveCollection<NodeView>): void {
    collection.onState(() => this.recomputeStatus());
    // A new collection starts `subscribing` without reporting it: a live client catches up now.
    this.recomputeStatus();
  }

  private allCollections(): LiveCollection<unknown>[] {
    const out: LiveCollection<unknown>[] = [];
    if (this.websitesCollection) out.push(this.websitesCollection as LiveCollection<unknown>);
    for (const c of this.nodeCollections.values()) out.push(c as LiveCollection<unknown>);
    return out;
  }

  private setState(state: ClientState): void {
    this.currentState = state;
    for (const listener of this.stateListeners) listener(state);
    this.recomputeStatus();
  }

  private recomputeStatus(): void {
    const state = this.currentState.state;
    let status: ConnectionStatus;
    if (state === 'connecting') status = 'connecting';
    else if (state === 'disconnected') status = 'offline';
    else if (state === 'failed') status = 'failed';
    else {
      // A failed sync that will be retried is still catching up; a terminal one is not.
      const catchingUp = this.allCollections().some(
        (c) =>
          c.state === 'subscribing' ||
          c.state === 'resyncing' ||
          (c.state === 'failed' && !c.failure?.terminal),
      );
      status = catchingUp ? 'resyncing' : 'live';
    }
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const listener of this.statusListeners) listener(status);
  }

  private onClusterRemoved({ cluster, eventId }: NodesRemoved): void {
    const collection = this.nodeCollections.get(cluster);
    if (!collection) return;
    this.nodeCollections.delete(cluster);
    collection.onRemoved(eventId);
    this.recomputeStatus();
  }

  private notifyError(error: ClientError): void {
    for (const listener of this.errorListeners) listener(error);
  }

  private dispatchPush(event: string, data: unknown): void {
    for (const listener of this.pushListeners.get(event) ?? []) listener(data);
  }
}

/** A `nodes:update` as the replica applies it: a full row as it is, a delta as a patch of its node (or a delete by name). */
function nodeReplicaUpdate(message: NodesUpdateMessage): ReplicaUpdate<NodeView> {
  if (!isNodesDeltaUpdate(message)) return message;
  const { eventId, type, name, changed } = message;
  if (message.type === 'deleted') return { eventId, type, data: { name }, changed };
  return { eventId, type, data: { name }, changed, key: name, patch: message.patch };
}

/** After `close()` a collection asked for is handed out closed: idle, and its `whenSynced()` rejects with CLOSED. */
function closedAlready<T>(collection: LiveCollection<T>): LiveCollection<T> {
  collection.close();
  return collection;
}

/**
 * Creates a client and connects it at once (unless `autoConnect: false`); collections are
 * created on demand. `new TidelineClient(options)` then `client.connect()` is the explicit path.
 */
export function connect(options: ConnectOptions): TidelineClient {
  return new TidelineClient({ autoConnect: true, ...options });
}

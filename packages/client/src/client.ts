import type {
  Ack,
  ClientToServerEvents,
  NodesInitial,
  NodesRemoved,
  NodesUpdate,
  NodeView,
  RequestError,
  ServerToClientEvents,
  WebsiteItem,
  WebsitesInitial,
  WebsitesUpdate,
} from '@tideline/contracts';
import { io as defaultIo, type Socket } from 'socket.io-client';
import { LiveCollection } from './collection.ts';
import { expiryOf } from './token.ts';

/** Doublings of the first reconnect delay before the cap applies (the exponent's bound). */
const MAX_BACKOFF_DOUBLINGS = 10;
export type ConnectionStatus = 'connecting' | 'live' | 'resyncing' | 'offline';

export interface ConnectOptions {
  /** One gateway URL, or several: a reconnect moves to the next one. */
  url: string | string[];
  /** A fixed token; or `getToken`, asked at every (re)connect and before expiry. */
  token?: string;
  getToken?: () => string | Promise<string>;
  /** Refresh (`auth:refresh`) this long before the token expires. Default: {@link CLIENT_DEFAULTS}. */
  refreshBeforeExpiryMs?: number;
  /** Reconnect backoff: first delay and cap, with jitter. Default: {@link CLIENT_DEFAULTS}. */
  reconnectDelayMs?: { initial: number; max: number };
  /** How long to wait for the server to acknowledge a request. Default: {@link CLIENT_DEFAULTS}. */
  requestTimeoutMs?: number;
  /** How often a sync refused with RATE_LIMITED and `retryAfterMs` is sent again. Default: {@link CLIENT_DEFAULTS}. */
  rateLimitedRetries?: number;
  path?: string;
  /** The socket.io-client `io` function (tests may pass their own build). */
  io?: typeof defaultIo;
}

type TidelineSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * The SDK's tunables and their defaults. The SDK runs in browsers, where no `TIDELINE_*`
 * environment exists, so these are set per connection through {@link ConnectOptions}.
 */
export const CLIENT_DEFAULTS: Readonly<
  Required<
    Pick<
      ConnectOptions,
      'refreshBeforeExpiryMs' | 'reconnectDelayMs' | 'requestTimeoutMs' | 'rateLimitedRetries'
    >
  >
> = {
  /** Ask `getToken` and send `auth:refresh` this long before the token expires. */
  refreshBeforeExpiryMs: 30_000,
  /** First reconnect delay and its cap; doubles per failed attempt, with jitter. */
  reconnectDelayMs: { initial: 250, max: 5_000 },
  /** A request the server has not acknowledged by then counts as failed (and is retried on resync). */
  requestTimeoutMs: 10_000,
  /** A (re)sync refused with RATE_LIMITED is sent again after the server's `retryAfterMs`, this often at most. */
  rateLimitedRetries: 3,
};

/**
 * A connection to the push-gateways. Collections stay current across disconnects: after a
 * reconnect each resumes from its position (the server replays what was missed, or sends a
 * fresh snapshot), duplicates are ignored and gaps trigger a replay.
 */
export class TidelineClient {
  private socket: TidelineSocket | undefined;
  private readonly urls: string[];
  private urlIndex = 0;
  private attempt = 0;
  /** Connections the gateway closed as a slow consumer; the reconnect backs off by them. */
  private slowConsumerCloses = 0;
  private current: ConnectionStatus = 'connecting';
  private closed = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private token: string | undefined;
  private websitesCollection: LiveCollection<WebsiteItem> | undefined;
  private readonly nodeCollections = new Map<string, LiveCollection<NodeView>>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private readonly errorListeners = new Set<
    (error: RequestError | { code: string; message: string }) => void
  >();
  private readonly pushListeners = new Map<string, Set<(data: unknown) => void>>();
  private readonly options: ConnectOptions & typeof CLIENT_DEFAULTS;

  constructor(options: ConnectOptions) {
    if (!options.token && !options.getToken) throw new Error('connect() needs a token or getToken');
    this.options = { ...CLIENT_DEFAULTS, ...options };
    this.urls = Array.isArray(options.url) ? [...options.url] : [options.url];
    if (this.urls.length === 0) throw new Error('connect() needs at least one url');
    this.token = options.token;
    this.open();
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** The URL of the gateway this client uses (or tries) now. */
  get currentUrl(): string {
    return this.urls[this.urlIndex]!;
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Refused requests and handshakes (`request:error`, `connect_error`). */
  onError(listener: (error: RequestError | { code: string; message: string }) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Targeted pushes (`push:*` events) sent by backend services to this user or its rooms. */
  onPush(event: `push:${string}`, listener: (data: unknown) => void): () => void {
    const set = this.pushListeners.get(event) ?? new Set();
    set.add(listener);
    this.pushListeners.set(event, set);
    const socket = this.socket;
    if (socket && set.size === 1) socket.on(event, (data: unknown) => this.dispatchPush(event, data));
    return () => set.delete(listener);
  }

  /** The websites list, live. */
  websites(): LiveCollection<WebsiteItem> {
    if (!this.websitesCollection) {
      this.websitesCollection = new LiveCollection<WebsiteItem>(
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
      this.watchCollection(this.websitesCollection);
      if (this.socket?.connected) void this.websitesCollection.sync(this.transportFor('request:websites'));
    }
    return this.websitesCollection;
  }

  /**
   * The nodes of one cluster, live. When the cluster is unregistered the collection reports a
   * `removed` change, empties and goes idle, and the client forgets it: a later call subscribes anew.
   */
  nodes(cluster: string): LiveCollection<NodeView> {
    let collection = this.nodeCollections.get(cluster);
    if (!collection) {
      collection = new LiveCollection<NodeView>(
        `nodes:${cluster}`,
        { keyOf: (n) => n.name, keyOfDeleted: (d) => String(d['name']), deleteTypes: ['deleted'] },
        (position) => (position === undefined ? { cluster } : { cluster, lastEventId: position.eventId }),
      );
      this.nodeCollections.set(cluster, collection);
      this.watchCollection(collection);
      if (this.socket?.connected) void collection.sync(this.transportFor('subscribe:nodes', cluster));
    }
    return collection;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.refreshTimer);
    this.socket?.disconnect();
    this.socket = undefined;
    this.setStatus('offline');
  }

  // ---- connection ---------------------------------------------------------------------------
  private async currentToken(): Promise<string> {
    if (this.options.getToken) {
      const expiresAt = this.token ? expiryOf(this.token) : undefined;
      if (
        !this.token ||
        (expiresAt !== undefined && expiresAt - Date.now() < this.options.refreshBeforeExpiryMs)
      ) {
        this.token = await this.options.getToken();
      }
    }
    return this.token!;
  }

  private open(): void {
    const ioFn = this.options.io ?? defaultIo;
    const socket: TidelineSocket = ioFn(this.currentUrl, {
      path: this.options.path ?? '/socket.io/',
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: (cb) => {
        this.currentToken().then(
          (token) => cb({ token }),
          () => cb({}),
        );
      },
    });
    this.socket = socket;
    socket.on('connect', () => this.onConnect(socket));
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      if (socket !== this.socket) return;
      const code = error.data?.code ?? 'UNAVAILABLE';
      this.notifyError({ code, message: error.message });
      if (code === 'TOKEN_EXPIRED' && this.options.getToken) this.token = undefined;
      // The user already holds the most sockets allowed: a quick retry cannot succeed, so wait the
      // longest backoff delay (another tab or device has to close first).
      if (code === 'TOO_MANY_CONNECTIONS') this.attempt = Math.max(this.attempt, MAX_BACKOFF_DOUBLINGS);
      this.scheduleReconnect();
    });
    socket.on('disconnect', (reason) => {
      if (socket !== this.socket || this.closed) return;
      if (reason === 'io client disconnect') return;
      this.onConnectionLost();
    });
    socket.on('server:reconnect', () => {
      if (socket !== this.socket) return;
      // The gateway is draining: go to the next one at once and resume there.
      this.attempt = 0;
      this.onConnectionLost(true);
    });
    socket.on('websites:initial', (message: WebsitesInitial) => this.websitesCollection?.onSnapshot(message));
    socket.on('websites:update', (message: WebsitesUpdate) => this.websitesCollection?.onUpdate(message));
    socket.on('nodes:initial', (message: NodesInitial) =>
      this.nodeCollections.get(message.cluster)?.onSnapshot(message),
    );
    socket.on('nodes:update', (message: NodesUpdate) =>
      this.nodeCollections.get(message.cluster)?.onUpdate(message),
    );
    socket.on('nodes:removed', (message: NodesRemoved) => this.onClusterRemoved(message));
    socket.on('request:error', (error: RequestError) => {
      this.notifyError(error);
      if (socket !== this.socket || error.event !== 'connection' || error.code !== 'SLOW_CONSUMER') return;
      // The gateway closes this connection (it fell too far behind reading): nothing after this
      // message is applied; reconnect with backoff and resume every collection from its position.
      this.slowConsumerCloses++;
      this.attempt = Math.max(this.attempt, this.slowConsumerCloses);
      this.onConnectionLost();
    });
    for (const event of this.pushListeners.keys())
      socket.on(event as `push:${string}`, (data: unknown) => this.dispatchPush(event, data));
  }

  private onConnect(socket: TidelineSocket): void {
    if (socket !== this.socket) return;
    this.attempt = 0;
    this.scheduleRefresh();
    const collections = this.allCollections();
    this.setStatus(collections.length > 0 ? 'resyncing' : 'live');
    if (this.websitesCollection) void this.websitesCollection.sync(this.transportFor('request:websites'));
    for (const [cluster, collection] of this.nodeCollections)
      void collection.sync(this.transportFor('subscribe:nodes', cluster));
  }

  private onConnectionLost(immediately = false): void {
    clearTimeout(this.refreshTimer);
    const old = this.socket;
    this.socket = undefined;
    old?.removeAllListeners();
    old?.disconnect();
    for (const collection of this.allCollections()) collection.detach();
    this.setStatus('offline');
    this.scheduleReconnect(immediately);
  }

  private scheduleReconnect(immediately = false): void {
    if (this.closed) return;
    const old = this.socket;
    if (old) {
      old.removeAllListeners();
      old.disconnect();
      this.socket = undefined;
    }
    this.setStatus(this.current === 'connecting' ? 'connecting' : 'offline');
    const { initial, max } = this.options.reconnectDelayMs;
    const delay = immediately
      ? 0
      : Math.min(max, initial * 2 ** Math.min(this.attempt, MAX_BACKOFF_DOUBLINGS)) *
        (0.5 + Math.random() / 2);
    this.attempt++;
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.closed) this.open();
    }, delay);
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (!this.options.getToken || !this.token) return;
    const expiresAt = expiryOf(this.token);
    if (expiresAt === undefined) return;
    const delay = Math.max(0, expiresAt - Date.now() - this.options.refreshBeforeExpiryMs);
    this.refreshTimer = setTimeout(async () => {
      const socket = this.socket;
      if (!socket?.connected || !this.options.getToken) return;
      try {
        this.token = await this.options.getToken();
        const ack = await socket
          .timeout(this.options.requestTimeoutMs)
          .emitWithAck('auth:refresh', { token: this.token });
        if (!ack.ok) this.notifyError(ack);
      } catch (error) {
        this.notifyError({
          code: 'UNAVAILABLE',
          message: `token refresh failed: ${(error as Error).message}`,
        });
      }
      this.scheduleRefresh();
    }, delay);
  }

  private transportFor(event: 'request:websites' | 'subscribe:nodes', cluster?: string) {
    return {
      request: async (payload: Record<string, unknown>): Promise<boolean> => {
        const socket = this.socket;
        for (let retries = 0; socket?.connected && socket === this.socket; retries++) {
          let ack: Ack;
          try {
            ack = await socket.timeout(this.options.requestTimeoutMs).emitWithAck(event, payload as never);
          } catch {
            return false;
          }
          if (ack.ok) return true;
          this.notifyError(ack);
          // Asked again too soon (e.g. a snapshot it was sent a moment ago): wait as told, then once more.
          if (
            ack.code !== 'RATE_LIMITED' ||
            ack.retryAfterMs === undefined ||
            retries >= this.options.rateLimitedRetries
          )
            return false;
          await new Promise((resolve) => setTimeout(resolve, ack.retryAfterMs));
        }
        return false;
      },
      release: cluster === undefined ? undefined : () => this.socket?.emit('unsubscribe:nodes', { cluster }),
    };
  }

  private watchCollection(
    collection: LiveCollection<unknown> | LiveCollection<WebsiteItem> | LiveCollection<NodeView>,
  ): void {
    collection.onState(() => this.recomputeStatus());
  }

  private recomputeStatus(): void {
    if (!this.socket?.connected) return;
    const syncing = this.allCollections().some((c) => c.state === 'syncing');
    this.setStatus(syncing ? 'resyncing' : 'live');
  }

  private allCollections(): LiveCollection<unknown>[] {
    const out: LiveCollection<unknown>[] = [];
    if (this.websitesCollection) out.push(this.websitesCollection as LiveCollection<unknown>);
    for (const c of this.nodeCollections.values()) out.push(c as LiveCollection<unknown>);
    return out;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.current) return;
    this.current = status;
    for (const listener of this.statusListeners) listener(status);
  }

  private onClusterRemoved({ cluster, eventId }: NodesRemoved): void {
    const collection = this.nodeCollections.get(cluster);
    if (!collection) return;
    this.nodeCollections.delete(cluster);
    collection.onRemoved(eventId);
    this.recomputeStatus();
  }

  private notifyError(error: RequestError | { code: string; message: string }): void {
    for (const listener of this.errorListeners) listener(error);
  }

  private dispatchPush(event: string, data: unknown): void {
    for (const listener of this.pushListeners.get(event) ?? []) listener(data);
  }
}

/** Connects to the push-gateway(s) and returns the client; collections are created on demand. */
export function connect(options: ConnectOptions): TidelineClient {
  return new TidelineClient(options);
}

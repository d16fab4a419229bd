import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { kubeconfigYaml } from './kubeconfig.ts';
import {
  applyCondition,
  applyHeartbeat,
  type ConditionStatus,
  type KubeNode,
  type KubeTaint,
  kubeTime,
  makeNode,
  type NodeSpec,
} from './node-object.ts';
import { AlreadyExistsError, NodeStore, NotFoundError } from './node-store.ts';
import { type KubeStatus, kubeStatus, tooOldResourceVersion } from './status.ts';

export interface KubeTestServerOptions {
  /** Changes kept for resuming watches; older resourceVersions get 410 Gone. */
  historyWindow?: number;
  /** Period of BOOKMARK events to watches that asked for them (`allowWatchBookmarks=true`). */
  bookmarkIntervalMs?: number;
  /** Server-side watch timeout when the client sends no `timeoutSeconds` (kube-apiserver: 30–60 min). */
  defaultWatchTimeoutSeconds?: number;
  /**
   * How a watch from a too-old resourceVersion is refused: `event` (kube-apiserver's way: HTTP 200,
   * then one ERROR event with a 410 Status, then end of stream) or `http` (HTTP 410 with a Status body).
   */
  expiredWatchAs?: 'event' | 'http';
  /** How long a list's `continue` token stays valid. */
  continueTtlMs?: number;
  /** Bearer token the server requires; random when absent. */
  token?: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /**
   * Serve HTTPS with this key and certificate (PEM) instead of plain HTTP, as a real API server
   * does; kubeconfigs then carry the certificate as `certificate-authority-data`.
   */
  tls?: { key: string; cert: string };
}

/** How the server fails while it is {@link KubeTestServer.down}. */
export type OutageMode =
  /** The listening socket is closed: connections are refused (ECONNREFUSED), open ones are cut. */
  | 'refuse'
  /** Connections are accepted and reset at once. */
  | 'reset'
  /** Every request is answered 503 with a Status body; open watches end. */
  | 'unavailable';

/** Calls the server answered, counted since start or the last {@link KubeTestServer.resetCounters}. */
export interface KubeTestServerCounters {
  /** List calls that start a list (first pages). */
  lists: number;
  /** Every list request, continuation pages included. */
  listPages: number;
  /** Watch requests. */
  watches: number;
  /** Watches answered with 410 (ERROR event or HTTP 410). */
  expiredWatches: number;
  /** Requests refused for a missing or wrong bearer token. */
  unauthorized: number;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  stalled: boolean;
  readonly timers: NodeJS.Timeout[];
}

interface ListSnapshot {
  readonly items: string[];
  readonly resourceVersion: number;
  readonly expiresAt: number;
}

const DEFAULTS = {
  historyWindow: 10_000,
  bookmarkIntervalMs: 1_000,
  defaultWatchTimeoutSeconds: 1_800,
  continueTtlMs: 60_000,
};

/**
 * A local HTTP server speaking kube-apiserver's list/watch protocol for `/api/v1/nodes`:
 * lists (with `limit`/`continue` paging over a consistent snapshot), `?watch=true` chunked JSON
 * event streams resuming from a resourceVersion (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR),
 * 410 Gone for versions older than the history window, server-side watch timeouts, and bearer
 * token auth. Tests change nodes through its methods and inject faults: dropped or stalled
 * watches, expired resourceVersions, outages. Clients reach it through a kubeconfig
 * ({@link writeKubeconfig}) exactly as they reach a real cluster.
 */
export class KubeTestServer {
  readonly token: string;
  private readonly store: NodeStore;
  private readonly options: Required<Omit<KubeTestServerOptions, 'token' | 'host' | 'port' | 'tls'>>;
  /** The certificate served (PEM) when the server speaks HTTPS. */
  readonly certificate: string | undefined;
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly snapshots = new Map<string, ListSnapshot>();
  private readonly counts: KubeTestServerCounters = {
    lists: 0,
    listPages: 0,
    watches: 0,
    expiredWatches: 0,
    unauthorized: 0,
  };
  private outage: OutageMode | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    options: KubeTestServerOptions,
    token: string,
  ) {
    this.token = token;
    this.certificate = options.tls?.cert;
    this.options = {
      historyWindow: options.historyWindow ?? DEFAULTS.historyWindow,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULTS.bookmarkIntervalMs,
      defaultWatchTimeoutSeconds: options.defaultWatchTimeoutSeconds ?? DEFAULTS.defaultWatchTimeoutSeconds,
      expiredWatchAs: options.expiredWatchAs ?? 'event',
      continueTtlMs: options.continueTtlMs ?? DEFAULTS.continueTtlMs,
    };
    this.store = new NodeStore(this.options.historyWindow);
    this.store.onEvent((event) => {
      for (const watcher of this.watchers) if (!watcher.stalled) watcher.res.write(event.line);
    });
    server.on('request', (req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      if (this.outage === 'reset') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), this.options.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  static async start(options: KubeTestServerOptions = {}): Promise<KubeTestServer> {
    const host = options.host ?? '127.0.0.1';
    const server: Server = options.tls
      ? createHttpsServer({ keepAliveTimeout: 5_000, key: options.tls.key, cert: options.tls.cert })
      : createServer({ keepAliveTimeout: 5_000 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    return new KubeTestServer(
      server,
      host,
      port,
      options,
      options.token ?? randomBytes(24).toString('base64url'),
    );
  }

  /** The API server URL a kubeconfig points at. */
  get url(): string {
    const host = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `${this.certificate ? 'https' : 'http'}://${host}:${this.port}`;
  }

  get counters(): Readonly<KubeTestServerCounters> {
    return { ...this.counts };
  }

  resetCounters(): void {
    for (const key of Object.keys(this.counts) as (keyof KubeTestServerCounters)[]) this.counts[key] = 0;
  }

  /** Watch streams open right now. */
  get activeWatches(): number {
    return this.watchers.size;
  }

  get resourceVersion(): number {
    return this.store.resourceVersion;
  }

  // ---- nodes ---------------------------------------------------------------------------------

  get nodeCount(): number {
    return this.store.size;
  }

  /** A copy of a stored node (as a GET would answer it). */
  getNode(name: string): KubeNode | undefined {
    const node = this.store.get(name);
    return node ? (structuredClone(node) as KubeNode) : undefined;
  }

  /** Copies of every node, sorted by name. */
  listNodes(): KubeNode[] {
    return this.store.sorted().map((n) => structuredClone(n) as KubeNode);
  }

  nodeNames(): string[] {
    return this.store.names();
  }

  addNode(spec: NodeSpec | string): KubeNode {
    return this.store.add(makeNode(typeof spec === 'string' ? { name: spec } : spec));
  }

  /** Adds `count` nodes named `<prefix>-<index>` (zero-padded), one change each. */
  addNodes(
    count: number,
    options: { prefix?: string; from?: number } & Omit<NodeSpec, 'name'> = {},
  ): string[] {
    const { prefix = 'node', from = 0, ...spec } = options;
    const now = new Date();
    const names: string[] = [];
    for (let i = from; i < from + count; i++) {
      const name = `${prefix}-${String(i).padStart(5, '0')}`;
      this.store.add(makeNode({ ...spec, name }, now));
      names.push(name);
    }
    return names;
  }

  /** Any change: `mutate` edits the stored object; a MODIFIED event with a new resourceVersion follows. */
  modifyNode(name: string, mutate: (node: KubeNode) => void): KubeNode {
    return this.store.update(name, mutate);
  }

  deleteNode(name: string): void {
    this.store.delete(name);
  }

  /** `kubectl cordon`. */
  cordon(name: string): void {
    this.store.update(name, (n) => {
      n.spec.unschedulable = true;
    });
  }

  /** `kubectl uncordon`. */
  uncordon(name: string): void {
    this.store.update(name, (n) => {
      delete n.spec.unschedulable;
    });
  }

  /** `kubectl label node <name> key=value` (or `key-` with `undefined`). */
  label(name: string, key: string, value: string | undefined): void {
    this.store.update(name, (n) => {
      if (value === undefined) delete n.metadata.labels[key];
      else n.metadata.labels[key] = value;
    });
  }

  /** `kubectl taint node <name> key=value:effect`. */
  taint(name: string, taint: KubeTaint): void {
    this.store.update(name, (n) => {
      const rest = (n.spec.taints ?? []).filter((t) => !(t.key === taint.key && t.effect === taint.effect));
      n.spec.taints = [
        ...rest,
        { ...taint, ...(taint.effect === 'NoExecute' ? { timeAdded: kubeTime() } : {}) },
      ];
    });
  }

  /** `kubectl taint node <name> key-`. */
  untaint(name: string, key: string): void {
    this.store.update(name, (n) => {
      const rest = (n.spec.taints ?? []).filter((t) => t.key !== key);
      if (rest.length > 0) n.spec.taints = rest;
      else delete n.spec.taints;
    });
  }

  /** What the kubelet (or the node lifecycle controller) does when a condition changes. */
  setCondition(name: string, type: string, status: ConditionStatus, reason?: string): void {
    this.store.update(name, (n) => applyCondition(n, type, status, reason));
  }

  /** A kubelet status heartbeat: lastHeartbeatTime, managedFields time and resourceVersion change; nothing meaningful does. */
  heartbeat(name: string): void {
    this.store.update(name, (n) => applyHeartbeat(n));
  }

  heartbeatAll(): number {
    const now = new Date();
    const names = this.store.names();
    for (const name of names) this.store.update(name, (n) => applyHeartbeat(n, now));
    return names.length;
  }

  // ---- faults --------------------------------------------------------------------------------

  /** Cuts every open watch connection abruptly (a load balancer or network drop). */
  dropWatches(): number {
    const cut = this.watchers.size;
    for (const watcher of [...this.watchers]) {
      watcher.res.socket?.destroy();
      this.forget(watcher);
    }
    return cut;
  }

  /**
   * Open watches stay connected but receive nothing more (no events, no bookmarks, no timeout):
   * the silent stall seen behind broken proxies. New watches work normally.
   */
  stallWatches(): number {
    for (const watcher of this.watchers) watcher.stalled = true;
    return this.watchers.size;
  }

  /** Forgets the held history, like an etcd compaction: resuming from any earlier resourceVersion answers 410. */
  compact(): void {
    this.store.compact();
    this.snapshots.clear();
  }

  /**
   * A 410 during watch: compacts, then sends every open watch (stalled ones too) an ERROR event
   * with a 410 Status and ends it, as kube-apiserver does when a watcher falls out of its window.
   */
  expireWatches(): number {
    this.compact();
    const expired = this.watchers.size;
    const line = `${JSON.stringify({ type: 'ERROR', object: tooOldResourceVersion(0, this.store.oldestResumable) })}\n`;
    for (const watcher of [...this.watchers]) {
      watcher.res.end(line);
      this.forget(watcher);
    }
    return expired;
  }

  /** An outage until {@link up}; changes made meanwhile are kept (the cluster lives on, its API is gone). */
  async down(mode: OutageMode = 'refuse'): Promise<void> {
    if (this.outage) throw new Error(`already down (${this.outage})`);
    this.outage = mode;
    if (mode === 'unavailable') {
      for (const watcher of [...this.watchers]) {
        watcher.res.end();
        this.forget(watcher);
      }
      return;
    }
    for (const watcher of [...this.watchers]) this.forget(watcher);
    for (const socket of this.sockets) socket.destroy();
    if (mode === 'refuse') await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async up(): Promise<void> {
    const was = this.outage;
    if (!was) return;
    if (was === 'refuse') {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, this.host, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    }
    this.outage = undefined;
  }

  get isDown(): boolean {
    return this.outage !== undefined;
  }

  // ---- kubeconfig ----------------------------------------------------------------------------

  /** A kubeconfig (YAML) for this server: cluster, token user and context named after `cluster`. */
  kubeconfig(options: { cluster?: string; context?: string; server?: string } = {}): string {
    const cluster = options.cluster ?? 'test';
    return kubeconfigYaml({
      cluster,
      context: options.context ?? cluster,
      server: options.server ?? this.url,
      token: this.token,
      ...(this.certificate ? { certificateAuthority: this.certificate } : {}),
    });
  }

  /** Writes {@link kubeconfig} to `path` (mode 0600, as kubectl does) and returns the path. */
  writeKubeconfig(
    path: string,
    options: { cluster?: string; context?: string; server?: string } = {},
  ): string {
    writeFileSync(path, this.kubeconfig(options), { mode: 0o600 });
    return path;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.bookmarkTimer);
    for (const watcher of [...this.watchers]) this.forget(watcher);
    for (const socket of this.sockets) socket.destroy();
    if (this.outage !== 'refuse') await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- protocol ------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.outage === 'unavailable') {
      this.sendStatus(
        res,
        kubeStatus(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'http://kube');
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.counts.unauthorized += 1;
      this.sendStatus(res, kubeStatus(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (req.method !== 'GET') {
      this.sendStatus(
        res,
        kubeStatus(405, 'MethodNotAllowed', `${req.method} is not supported by the test server`),
      );
      return;
    }
    if (url.pathname === '/version') {
      this.sendJson(res, 200, {
        major: '1',
        minor: '30',
        gitVersion: 'v1.30.4-tideline-test',
        platform: 'linux/amd64',
      });
      return;
    }
    if (url.pathname === '/api/v1/nodes') {
      const watch = url.searchParams.get('watch');
      if (watch === 'true' || watch === '1') this.watch(req, res, url.searchParams);
      else this.list(res, url.searchParams);
      return;
    }
    const single = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (single) {
      const node = this.store.get(decodeURIComponent(single[1]!));
      if (node) this.sendJson(res, 200, node);
      else this.sendStatus(res, kubeStatus(404, 'NotFound', `nodes "${single[1]}" not found`));
      return;
    }
    this.sendStatus(res, kubeStatus(404, 'NotFound', 'the server could not find the requested resource'));
  }

  private unsupportedSelector(params: URLSearchParams): string | undefined {
    for (const name of ['labelSelector', 'fieldSelector']) {
      if (params.get(name)) return `${name} is not supported by the test server`;
    }
    return undefined;
  }

  private list(res: ServerResponse, params: URLSearchParams): void {
    this.counts.listPages += 1;
    const unsupported = this.unsupportedSelector(params);
    if (unsupported) {
      this.sendStatus(res, kubeStatus(400, 'BadRequest', unsupported));
      return;
    }
    const limit = Number(params.get('limit') ?? '0');
    const token = params.get('continue');
    let snapshot: ListSnapshot;
    let offset = 0;
    if (token) {
      const [id, at] = Buffer.from(token, 'base64url').toString('utf8').split(':');
      const held = id ? this.snapshots.get(id) : undefined;
      if (!held || held.expiresAt < Date.now()) {
        this.sendStatus(
          res,
          kubeStatus(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result.',
          ),
        );
        return;
      }
      snapshot = held;
      offset = Number(at);
    } else {
      this.counts.lists += 1;
      const requested = params.get('resourceVersion');
      const match = params.get('resourceVersionMatch');
      if (requested && match === 'Exact' && Number(requested) !== this.store.resourceVersion) {
        this.sendStatus(res, tooOldResourceVersion(Number(requested), this.store.resourceVersion));
        return;
      }
      snapshot = {
        items: this.store.sorted().map((n) => JSON.stringify(n)),
        resourceVersion: this.store.resourceVersion,
        expiresAt: Date.now() + this.options.continueTtlMs,
      };
    }
    const end = limit > 0 ? Math.min(snapshot.items.length, offset + limit) : snapshot.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.resourceVersion) };
    if (end < snapshot.items.length) {
      const id = token
        ? Buffer.from(token, 'base64url').toString('utf8').split(':')[0]!
        : randomBytes(8).toString('hex');
      this.snapshots.set(id, snapshot);
      metadata['continue'] = Buffer.from(`${id}:${end}`).toString('base64url');
      metadata['remainingItemCount'] = snapshot.items.length - end;
    }
    this.pruneSnapshots();
    const body = `{"kind":"NodeList","apiVersion":"v1","metadata":${JSON.stringify(metadata)},"items":[${snapshot.items.slice(offset, end).join(',')}]}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private pruneSnapshots(): void {
    const now = Date.now();
    for (const [id, snapshot] of this.snapshots) if (snapshot.expiresAt < now) this.snapshots.delete(id);
  }

  private watch(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    this.counts.watches += 1;
    const unsupported = this.unsupportedSelector(params);
    if (unsupported) {
      this.sendStatus(res, kubeStatus(400, 'BadRequest', unsupported));
      return;
    }
    const requested = params.get('resourceVersion');
    let initial: string;
    if (!requested || requested === '0') {
      // "Start at most recent": the current state as synthetic ADDED events, then changes.
      initial = this.store
        .sorted()
        .map((n) => `${JSON.stringify({ type: 'ADDED', object: n })}\n`)
        .join('');
    } else {
      const from = Number(requested);
      if (!Number.isInteger(from) || from < 0) {
        this.sendStatus(
          res,
          kubeStatus(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(requested)}`),
        );
        return;
      }
      const events = this.store.eventsAfter(from);
      if (events === 'expired') {
        this.counts.expiredWatches += 1;
        const status = tooOldResourceVersion(from, this.store.oldestResumable);
        if (this.options.expiredWatchAs === 'http') {
          this.sendStatus(res, status);
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
          res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
        }
        return;
      }
      initial = events.map((e) => e.line).join('');
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'transfer-encoding': 'chunked',
    });
    res.flushHeaders();
    if (initial.length > 0) res.write(initial);
    const timeoutSeconds =
      Number(params.get('timeoutSeconds') ?? '0') || this.options.defaultWatchTimeoutSeconds;
    const watcher: Watcher = {
      res,
      bookmarks: params.get('allowWatchBookmarks') === 'true',
      stalled: false,
      timers: [],
    };
    watcher.timers.push(
      setTimeout(() => {
        if (watcher.stalled) return;
        if (watcher.bookmarks) res.write(this.bookmarkLine());
        res.end();
        this.forget(watcher);
      }, timeoutSeconds * 1000),
    );
    this.watchers.add(watcher);
    const gone = () => this.forget(watcher);
    req.on('close', gone);
    res.on('close', gone);
  }

  private bookmarkLine(): string {
    return `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.store.resourceVersion) } } })}\n`;
  }

  private sendBookmarks(): void {
    if (this.watchers.size === 0) return;
    const line = this.bookmarkLine();
    for (const watcher of this.watchers) if (watcher.bookmarks && !watcher.stalled) watcher.res.write(line);
  }

  private forget(watcher: Watcher): void {
    for (const timer of watcher.timers) clearTimeout(timer);
    this.watchers.delete(watcher);
  }

  private sendStatus(res: ServerResponse, status: KubeStatus): void {
    this.sendJson(res, status.code, status);
  }

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

export { AlreadyExistsError, NotFoundError };

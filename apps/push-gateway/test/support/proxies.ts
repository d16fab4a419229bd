import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';

/**
 * An HTTP proxy that counts the requests passing through it by path (without query), so a test
 * can assert how many queries really reached the service behind it.
 */
export class CountingProxy {
  private readonly requests: URL[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async to(targetUrl: string): Promise<CountingProxy> {
    const target = new URL(targetUrl);
    let proxy: CountingProxy | undefined;
    const server = createHttpServer((req, res) => {
      proxy?.requests.push(new URL(req.url ?? '/', 'http://proxy'));
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502).end();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    proxy = new CountingProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** Requests to `path` (optionally only those whose query matches) since the last reset. */
  count(path: string, query: (params: URLSearchParams) => boolean = () => true): number {
    return this.requests.filter((url) => url.pathname === path && query(url.searchParams)).length;
  }

  reset(): void {
    this.requests.length = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TCP load balancer on 127.0.0.1 in front of several gateways: each new connection goes to
 * the first backend that accepts it, so when one gateway dies its clients' reconnects land on
 * the next — what a load balancer with health checks does.
 */
export class FailoverProxy {
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `backends()` is read per connection, so the list can change while it runs. */
  static async to(backends: () => number[]): Promise<FailoverProxy> {
    let proxy: FailoverProxy | undefined;
    const server = createServer((client) => {
      proxy?.track(client);
      client.pause();
      const tryBackend = (index: number) => {
        const ports = backends();
        const port = ports[index];
        if (port === undefined) {
          client.destroy();
          return;
        }
        const upstream = connect(port, '127.0.0.1');
        upstream.once('connect', () => {
          proxy?.track(upstream);
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
          const end = () => {
            client.destroy();
            upstream.destroy();
          };
          client.on('error', end);
          upstream.on('error', end);
          client.on('close', end);
          upstream.on('close', end);
        });
        upstream.once('error', () => {
          upstream.destroy();
          tryBackend(index + 1);
        });
      };
      client.on('error', () => client.destroy());
      tryBackend(0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    proxy = new FailoverProxy(server, port);
    return proxy;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of one gateway whose gateway → client direction can be
 * stalled: the connections open at that moment stop reading what the gateway sends (it piles up
 * in the kernel, then in the gateway), exactly as a client that stops reading its socket; the
 * client → gateway direction keeps flowing. Connections opened later are not stalled.
 */
export class StallProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private readonly stalled = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async to(targetPort: number): Promise<StallProxy> {
    let proxy: StallProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    proxy = new StallProxy(server, typeof address === 'object' && address ? address.port : 0);
    return proxy;
  }

  /** Every open connection stops reading from the gateway. */
  stall(): void {
    for (const { upstream } of this.pairs) {
      upstream.pause();
      this.stalled.add(upstream);
    }
  }

  /** The stalled connections read again (what the gateway sent meanwhile follows, in order). */
  resume(): void {
    for (const upstream of this.stalled) upstream.resume();
    this.stalled.clear();
  }

  private accept(client: Socket, targetPort: number): void {
    this.connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    // Forwarded by hand (no pipe), so nothing but stall()/resume() pauses or resumes the upstream.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const close = () => {
      this.pairs.delete(pair);
      this.stalled.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.ts';

const START_TIMEOUT_MS = 10_000;

/** How clients must authenticate to a private NATS server. */
export type NatsServerAuth = { user: string; pass: string } | { token: string };

/** How clients must authenticate to a private Redis: `requirepass` and/or one ACL user. */
export interface RedisServerAuth {
  /** Password of the `default` user (`requirepass`). */
  requirepass: string;
  /** An ACL user with every permission besides `default`. */
  aclUser?: { name: string; pass: string };
  /** Serve TLS only (no plaintext port), with this certificate; clients need no certificate. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/** A real server process of our own on a free loopback port: stop/start it to simulate outages. */
export class DisposableServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly command: string,
    private readonly args: string[],
    private readonly dir: string,
  ) {}

  /** NATS with JetStream and its own store; with `auth`, clients without it are refused. */
  static async nats(auth?: NatsServerAuth): Promise<DisposableServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tideline-nats-'));
    const authArgs = !auth
      ? []
      : 'token' in auth
        ? ['--auth', auth.token]
        : ['--user', auth.user, '--pass', auth.pass];
    const server = new DisposableServer(
      'nats-server',
      port,
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...authArgs],
      dir,
    );
    await server.start();
    return server;
  }

  /** Redis without persistence; with `auth`, commands without credentials are refused (NOAUTH). */
  static async redis(auth?: RedisServerAuth): Promise<DisposableServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tideline-redis-'));
    const listen = auth?.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          auth.tls.certFile,
          '--tls-key-file',
          auth.tls.keyFile,
          '--tls-ca-cert-file',
          auth.tls.caFile,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)];
    const args = [
      '--bind',
      '127.0.0.1',
      ...listen,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...(auth ? ['--requirepass', auth.requirepass] : []),
      ...(auth?.aclUser
        ? ['--user', auth.aclUser.name, 'on', `>${auth.aclUser.pass}`, '~*', '&*', '+@all']
        : []),
    ];
    const server = new DisposableServer('redis-server', port, 'redis-server', args, dir);
    await server.start();
    return server;
  }

  /** The URL without credentials (`rediss://` for a TLS Redis). */
  get url(): string {
    if (this.name === 'nats-server') return `nats://127.0.0.1:${this.port}`;
    return `${this.args.includes('--tls-port') ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.child = spawn(this.command, this.args, { stdio: 'ignore' });
    await waitForPort(this.port, START_TIMEOUT_MS);
  }

  /** SIGKILL by default: an outage, not a polite stop. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.ts';

/** How clients must authenticate to the server. */
export type NatsAuth = { user: string; pass: string } | { token: string };

/**
 * A NATS server with JetStream of a test's own (own port, own store directory) that requires
 * credentials, so a test can prove what is refused without them.
 */
export class PrivateNatsServer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(options: {
    auth: NatsAuth;
    startTimeoutMs: number;
    /** Serve TLS only, with this certificate. */
    tls?: { certFile: string; keyFile: string };
  }): Promise<PrivateNatsServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tideline-nats-auth-'));
    const auth =
      'token' in options.auth
        ? ['--auth', options.auth.token]
        : ['--user', options.auth.user, '--pass', options.auth.pass];
    const tls = options.tls
      ? ['--tls', '--tlscert', options.tls.certFile, '--tlskey', options.tls.keyFile]
      : [];
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...auth, ...tls];
    const child = spawn('nats-server', args, {
      stdio: 'ignore',
    });
    const server = new PrivateNatsServer(port, child, dir);
    try {
      await waitForPort(port, options.startTimeoutMs);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  /** The URL without credentials. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

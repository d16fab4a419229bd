import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Below Linux's default ephemeral range (32768–60999), where outgoing connections take their ports. */
const RESTARTABLE_PORT_MIN = 20_000;
const RESTARTABLE_PORT_MAX = 32_000;
const RESTARTABLE_PORT_ATTEMPTS = 200;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port for a server that a test kills and starts again on the same port. A port from the
 * ephemeral range (what {@link freePort} gives) can be taken while the server is down: by another
 * process's outgoing connection, or by a client retrying towards it (a TCP self-connect), and the
 * restart then fails to bind. Ports below that range are only ever taken on purpose.
 */
export async function restartablePort(): Promise<number> {
  for (let i = 0; i < RESTARTABLE_PORT_ATTEMPTS; i++) {
    const port =
      RESTARTABLE_PORT_MIN + Math.floor(Math.random() * (RESTARTABLE_PORT_MAX - RESTARTABLE_PORT_MIN));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${RESTARTABLE_PORT_MIN} and ${RESTARTABLE_PORT_MAX}`);
}

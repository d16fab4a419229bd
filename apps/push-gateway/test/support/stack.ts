import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEventBus, type EventBus } from '@tideline/bus';
import { busSettings, loadConfig } from '@tideline/config';
import { removeStreams, TEST_NATS_URL } from '@tideline/test-support';
import { Redis } from 'ioredis';
import { type PushGatewayOptions, type RunningPushGateway, startPushGateway } from '../../src/service.ts';

export const NATS_URL = TEST_NATS_URL;
export const REDIS_URL = process.env['TIDELINE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CHILD_START_TIMEOUT_MS = 20_000;

/** A gateway running as its own process (`tsx src/main.ts`), for kill -9 and SIGTERM. */
export interface GatewayProcess {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Log lines it printed (JSON). */
  readonly lines: string[];
  kill(signal: NodeJS.Signals): void;
}

/**
 * One test's private world on the shared servers: a bus prefix (streams/consumers), a Socket.IO
 * adapter key and a stateful namespace of its own, and every gateway/bus it started, all removed
 * on dispose.
 */
export class TestStack {
  readonly id = randomUUID().replaceAll('-', '').slice(0, 10);
  readonly busPrefix = `gw${this.id}`;
  readonly adapterKey = `tideline-test:${this.id}:socket.io`;
  readonly namespace = `gwtest-${this.id}`;
  private readonly gateways: RunningPushGateway[] = [];
  private readonly processes: GatewayProcess[] = [];
  private readonly buses: EventBus[] = [];

  constructor(private readonly base: Record<string, string> = {}) {}

  /** The environment of a gateway (and of a website-api) of this stack. */
  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      TIDELINE_ENV: 'test',
      TIDELINE_LOG_LEVEL: 'error',
      TIDELINE_GATEWAY_PORT: '0',
      TIDELINE_GATEWAY_HOST: '127.0.0.1',
      // The same tests run over either broker: TIDELINE_BUS=kafka npx vitest run apps/push-gateway
      TIDELINE_BUS: process.env['TIDELINE_BUS'] ?? 'nats',
      TIDELINE_NATS_URL: NATS_URL,
      TIDELINE_KAFKA_BROKERS: process.env['TIDELINE_KAFKA_BROKERS'] ?? '127.0.0.1:9092',
      TIDELINE_REDIS_URL: REDIS_URL,
      TIDELINE_BUS_PREFIX: this.busPrefix,
      TIDELINE_GATEWAY_ADAPTER_KEY: this.adapterKey,
      TIDELINE_STATEFUL_NAMESPACE: this.namespace,
      TIDELINE_JWT_CLOCK_TOLERANCE_MS: '0',
      TIDELINE_SHUTDOWN_TIMEOUT_MS: '10000',
      TIDELINE_GATEWAY_DRAIN_GRACE_MS: '100',
      TIDELINE_GATEWAY_RECONNECT_JITTER_MS: '200',
      ...this.base,
      ...overrides,
    };
  }

  async gateway(
    overrides: Record<string, string> = {},
    options: PushGatewayOptions = {},
  ): Promise<RunningPushGateway> {
    const gateway = await startPushGateway({ ...options, source: { env: this.env(overrides) } });
    this.gateways.push(gateway);
    return gateway;
  }

  /** Starts `tsx src/main.ts` as a child process and waits until it listens. */
  async gatewayProcess(overrides: Record<string, string> = {}): Promise<GatewayProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...this.env({ TIDELINE_LOG_LEVEL: 'info', ...overrides }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`gateway process did not start:\n${lines.join('\n')}`)),
        CHILD_START_TIMEOUT_MS,
      );
      const onLine = (line: string) => {
        lines.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'started' && typeof entry.port === 'number') {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`gateway process exited (${code}) before it started:\n${lines.join('\n')}`));
      });
    });
    const handle: GatewayProcess = {
      port,
      url: `http://127.0.0.1:${port}`,
      child,
      exited,
      lines,
      kill: (signal) => {
        if (child.exitCode === null) child.kill(signal);
      },
    };
    this.processes.push(handle);
    return handle;
  }

  /** A bus of this stack, e.g. for a test that publishes pushes like a backend service. */
  async bus(): Promise<EventBus> {
    const config = loadConfig(busSettings, { env: this.env() });
    const bus = createEventBus({ config, clientName: `test-${this.id}` });
    await bus.start();
    this.buses.push(bus);
    return bus;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    await Promise.allSettled(this.gateways.map((g) => g.stop('test done')));
    await Promise.allSettled(this.buses.map((b) => b.drain()));
    await removeStreams(this.busPrefix);
    await removeKeys(`*${this.namespace}*`);
  }
}

export async function removeKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (found.length > 0) await redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { restartablePort } from './ports.ts';

const run = promisify(execFile);

/** The script that installs and runs the shared broker; a private one reuses its jars (infra/kafka/dist). */
const KAFKA_SCRIPT = fileURLToPath(new URL('../../../infra/kafka/kafka.sh', import.meta.url));

/** A JVM start, storage format and first metadata answer on a busy 2-core machine. */
const DEFAULT_START_TIMEOUT_SECONDS = 90;
/** Small enough for several private brokers beside the shared one; a test broker holds little. */
const DEFAULT_HEAP_OPTS = '-Xms128m -Xmx512m';
const EXIT_POLL_MS = 50;

export interface DisposableKafkaOptions {
  /** Bound of one start: JVM start, storage format (first start only), first metadata answer. */
  startTimeoutSeconds?: number;
  /** JVM heap flags of the broker. */
  heapOpts?: string;
  /**
   * A second client listener on `port` (take it from `restartablePort()`, as the broker binds it
   * again on every restart) that tells its clients (in metadata answers) to reach the
   * broker at `advertisedPort`: put a FaultProxy on `advertisedPort` towards `port`, and every
   * connection of a client bootstrapped there goes through the proxy, so cutting it partitions that
   * client alone (with the plain listener, clients would reach the advertised address directly).
   */
  proxiedListener?: { port: number; advertisedPort: number };
}

/** server.properties lines (appended last, so they win) that add the proxied listener. */
function proxiedListenerProperties(
  port: number,
  controllerPort: number,
  listener: { port: number; advertisedPort: number },
): string {
  return [
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},PROXIED://127.0.0.1:${listener.port}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port},PROXIED://127.0.0.1:${listener.advertisedPort}`,
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT',
    '',
  ].join('\n');
}

/**
 * A single-node KRaft Kafka broker of a test's own: free client and controller ports on
 * 127.0.0.1 and its own data directory, started by infra/kafka/kafka.sh from the jars that
 * script installs (resolved once per checkout). `stop()` kills it (SIGKILL, an outage) and keeps
 * the data directory, so `start()` brings back the same broker on the same ports with its topics,
 * messages and committed group offsets. Dispose kills it and removes the directory.
 */
export class DisposableKafka {
  /** Milliseconds the last {@link start} took until the broker answered metadata requests. */
  lastStartMs = 0;

  private constructor(
    readonly port: number,
    readonly controllerPort: number,
    readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly startTimeoutSeconds: number,
  ) {}

  static async start(options: DisposableKafkaOptions = {}): Promise<DisposableKafka> {
    // Ports it gets back after a restart: below the ephemeral range (see restartablePort).
    const port = await restartablePort();
    let controllerPort = await restartablePort();
    while (controllerPort === port) controllerPort = await restartablePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'tideline-kafka-'));
    const startTimeoutSeconds = options.startTimeoutSeconds ?? DEFAULT_START_TIMEOUT_SECONDS;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TIDELINE_KAFKA_PORT: String(port),
      TIDELINE_KAFKA_CONTROLLER_PORT: String(controllerPort),
      TIDELINE_KAFKA_DATA_DIR: dataDir,
      TIDELINE_KAFKA_WAIT_SECONDS: String(startTimeoutSeconds),
      TIDELINE_KAFKA_HEAP_OPTS: options.heapOpts ?? DEFAULT_HEAP_OPTS,
    };
    // A caller's TIDELINE_KAFKA_EXTRA_PROPERTIES (e.g. a SASL listener) must not leak into this broker.
    delete env['TIDELINE_KAFKA_EXTRA_PROPERTIES'];
    if (options.proxiedListener) {
      const file = join(dataDir, 'proxied-listener.properties');
      writeFileSync(file, proxiedListenerProperties(port, controllerPort, options.proxiedListener));
      env['TIDELINE_KAFKA_EXTRA_PROPERTIES'] = file;
    }
    const broker = new DisposableKafka(port, controllerPort, dataDir, env, startTimeoutSeconds);
    try {
      await broker.start();
    } catch (error) {
      await broker[Symbol.asyncDispose]();
      throw error;
    }
    return broker;
  }

  /** Bootstrap brokers for a bus client. */
  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** The value of `TIDELINE_KAFKA_BROKERS` for a service on this broker. */
  get brokersEnv(): string {
    return this.brokers.join(',');
  }

  /** True while the broker process exists (it may still be starting). */
  get running(): boolean {
    const pid = this.pid();
    return pid !== undefined && alive(pid);
  }

  /** Starts the broker (again) and resolves once it answers metadata requests; idempotent. */
  async start(): Promise<void> {
    const began = performance.now();
    try {
      await run('bash', [KAFKA_SCRIPT, 'start'], {
        env: this.env,
        timeout: (this.startTimeoutSeconds + 60) * 1000,
      });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(
        `private Kafka on 127.0.0.1:${this.port} did not start: ${output.stdout ?? ''}${output.stderr ?? ''}`,
      );
    }
    this.lastStartMs = Math.round(performance.now() - began);
  }

  /** Kills the broker (SIGKILL: an outage, not a controlled shutdown); the data directory stays. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      rmSync(this.pidFile, { force: true });
      return;
    }
    const deadline = Date.now() + this.startTimeoutSeconds * 1000;
    while (alive(pid)) {
      if (Date.now() > deadline) throw new Error(`Kafka process ${pid} survived SIGKILL`);
      await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
    }
    rmSync(this.pidFile, { force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private get pidFile(): string {
    return join(this.dataDir, 'kafka.pid');
  }

  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

/** True until `pid` is gone: a killed JVM holds its listeners while its threads are torn down. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

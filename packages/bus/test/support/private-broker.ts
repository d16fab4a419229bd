import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../../infra/kafka/kafka.sh', import.meta.url));

export interface PrivateBrokerOptions {
  /** Bound of one start (JVM start, storage format, first metadata answer). */
  startTimeoutSeconds: number;
  heapOpts: string;
  /**
   * A second client listener that requires SASL/PLAIN with these users (name → password), on
   * {@link PrivateKafkaBroker.saslBrokers}. The plaintext listener stays for the broker's own
   * readiness check and inter-broker traffic; tests of authentication use the SASL one only.
   */
  saslPlainUsers?: Record<string, string>;
}

/** server.properties lines that add a SASL_PLAINTEXT listener with PLAIN users. */
function saslProperties(
  port: number,
  controllerPort: number,
  saslPort: number,
  users: Record<string, string>,
) {
  const jaasUsers = Object.entries(users)
    .map(([name, password]) => `user_${name}="${password}"`)
    .join(' ');
  return [
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms=PLAIN',
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${jaasUsers};`,
    '',
  ].join('\n');
}

/**
 * A Kafka broker of a test's own (own ports, own data directory), started by the same
 * infra/kafka/kafka.sh as the shared one, so that a test can kill it and start it again.
 */
export class PrivateKafkaBroker {
  private constructor(
    readonly port: number,
    /** Port of the SASL listener (0 without `saslPlainUsers`). */
    readonly saslPort: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly dir: string,
    private readonly options: PrivateBrokerOptions,
  ) {}

  static async start(options: PrivateBrokerOptions): Promise<PrivateKafkaBroker> {
    const port = await freePort();
    const controllerPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tideline-kafka-'));
    const saslPort = options.saslPlainUsers ? await freePort() : 0;
    const extra: NodeJS.ProcessEnv = {};
    if (options.saslPlainUsers) {
      const file = join(dir, 'sasl.properties');
      writeFileSync(file, saslProperties(port, controllerPort, saslPort, options.saslPlainUsers));
      extra['TIDELINE_KAFKA_EXTRA_PROPERTIES'] = file;
    }
    const env = {
      ...process.env,
      ...extra,
      TIDELINE_KAFKA_PORT: String(port),
      TIDELINE_KAFKA_CONTROLLER_PORT: String(controllerPort),
      TIDELINE_KAFKA_DATA_DIR: dir,
      TIDELINE_KAFKA_WAIT_SECONDS: String(options.startTimeoutSeconds),
      TIDELINE_KAFKA_HEAP_OPTS: options.heapOpts,
    };
    const broker = new PrivateKafkaBroker(port, saslPort, env, dir, options);
    await broker.start();
    return broker;
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** The SASL listener; only clients with a configured user get in. */
  get saslBrokers(): string[] {
    return [`127.0.0.1:${this.saslPort}`];
  }

  async start(): Promise<void> {
    await run('bash', [SCRIPT, 'start'], {
      env: this.env,
      timeout: (this.options.startTimeoutSeconds + 30) * 1000,
    });
  }

  /** SIGKILL: an outage, not a controlled shutdown. */
  async kill(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(join(this.dir, 'kafka.pid'), 'utf8').trim());
    } catch {
      return;
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    const deadline = Date.now() + this.options.startTimeoutSeconds * 1000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        rmSync(join(this.dir, 'kafka.pid'), { force: true });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`Kafka process ${pid} survived SIGKILL`);
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

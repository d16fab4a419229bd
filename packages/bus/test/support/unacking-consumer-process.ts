import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../src/testing/wait.ts';
import { CONFIG_ENV, type UnackingConsumerConfig } from './unacking-consumer-config.ts';

const ENTRY = fileURLToPath(new URL('./unacking-consumer.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The parent's handle on an {@link UnackingConsumerConfig} child: what it received, and its death. */
export class UnackingConsumerProcess {
  /** msgIds its handler received (and never settled), in arrival order. */
  readonly received: string[] = [];
  private ready = false;
  private output = '';

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { ready?: boolean; received?: string };
      if (parsed.ready) this.ready = true;
      if (parsed.received) this.received.push(parsed.received);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
  }

  /** Spawns the child and resolves once it is subscribed. */
  static async start(
    config: UnackingConsumerConfig,
    readyTimeoutMs: number,
  ): Promise<UnackingConsumerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      cwd: REPO_ROOT,
      env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const consumer = new UnackingConsumerProcess(child);
    if (!(await eventually(() => consumer.ready || !consumer.alive, readyTimeoutMs, 50)) || !consumer.ready) {
      await consumer.kill();
      throw new Error(`the unacking consumer did not subscribe: ${consumer.output}`);
    }
    return consumer;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: it dies holding whatever it received, without a chance to settle anything. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}

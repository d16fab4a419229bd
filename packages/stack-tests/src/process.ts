import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LOG_DIR = join(REPO_ROOT, 'infra', '.run', 'stack-tests');

export interface ServiceProcessOptions {
  name: string;
  /** Entry point relative to the repository root, run with tsx. */
  entry: string;
  env: Record<string, string>;
  /** URL whose 200 means ready (usually `<base>/readyz`). */
  readyUrl?: string;
  readyTimeoutMs: number;
}

/**
 * A Tideline service as a real child process (`node --import tsx <entry>`), as deployed: it can be
 * stopped politely (SIGTERM) or killed (SIGKILL) mid-stream. Its output goes to
 * infra/.run/stack-tests/<name>.log.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  readonly logFile: string;

  constructor(readonly options: ServiceProcessOptions) {
    mkdirSync(LOG_DIR, { recursive: true });
    this.logFile = join(LOG_DIR, `${options.name}.log`);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', this.options.entry], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    if (this.options.readyUrl) await this.waitReady(this.options.readyUrl);
  }

  private async waitReady(url: string): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.options.name} exited during start; see ${this.logFile}`);
      try {
        if ((await fetch(url)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `${this.options.name} not ready at ${url} after ${this.options.readyTimeoutMs} ms; see ${this.logFile}`,
    );
  }

  /** SIGTERM (graceful drain) or SIGKILL (a crash); resolves when the process is gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

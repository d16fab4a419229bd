import { type Logger, symbols } from 'pino';

export interface StopStep {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * Stop steps run in the reverse order of registration (what started last stops first), each
 * awaited, one failure logged without skipping the rest. The whole stop is bounded in time.
 */
export class Shutdown {
  private readonly steps: StopStep[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  register(name: string, run: StopStep['run']): void {
    this.steps.push({ name, run });
  }

  /** Runs every step once; later calls return the same promise. Resolves `false` on timeout. */
  run(reason: string): Promise<void> {
    this.stopping ??= this.runSteps(reason);
    return this.stopping;
  }

  private async runSteps(reason: string): Promise<void> {
    this.logger.info({ reason }, 'stopping');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref();
    });
    const work = (async () => {
      for (const step of [...this.steps].reverse()) {
        const started = performance.now();
        try {
          await step.run();
          this.logger.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'stopped');
        } catch (error) {
          this.logger.error({ step: step.name, err: error }, 'stop step failed');
        }
      }
    })();
    const outcome = await Promise.race([work.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      this.logger.warn({ timeoutMs: this.timeoutMs }, 'stop timed out; exiting anyway');
  }

  /**
   * Resolves once every line logged so far has been written, or after the stop timeout. pino's
   * asynchronous destination (sonic-boom) writes in the background; a process that exits while a
   * write is in flight has pino's exit hook write the lines queued behind it first, so the last
   * lines of a stop come out of order, or the in-flight ones are lost.
   */
  logsWritten(): Promise<void> {
    const stream = (this.logger as unknown as Record<symbol, unknown>)[symbols.streamSym] as
      | BackgroundWriter
      | undefined;
    // Only a destination that writes in the background and flushes at exit has this race.
    if (typeof stream?.flushSync !== 'function') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stream.off('drain', done);
        resolve();
      };
      const timer = setTimeout(done, this.timeoutMs);
      timer.unref();
      stream.once('drain', done);
      // Queued behind whatever is being written; sonic-boom emits 'drain' once nothing is left.
      stream.write('');
    });
  }
}

/** The parts of a sonic-boom destination that {@link Shutdown.logsWritten} uses. */
interface BackgroundWriter {
  write(chunk: string): boolean;
  flushSync(): void;
  once(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

/**
 * SIGTERM/SIGINT run the shutdown once, then exit once its log lines are written; a second signal
 * exits at once.
 */
export function installSignalHandlers(
  shutdown: Shutdown,
  exit: (code: number) => void = process.exit,
): () => void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      exit(130);
      return;
    }
    received = true;
    void shutdown
      .run(signal)
      .then(() => shutdown.logsWritten())
      .then(() => exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

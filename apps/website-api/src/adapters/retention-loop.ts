import { Counter, type Logger, type Registry } from '@tideline/runtime';
import type { RetentionPolicy } from '../domain/retention.ts';
import type { PostgresEventLog } from './event-log/postgres-event-log.ts';

export interface RetentionLoopOptions {
  log: PostgresEventLog;
  policy: RetentionPolicy;
  intervalMs: number;
  /** Cleanup transactions per run at most. */
  maxBatches: number;
  logger: Logger;
  metrics: Registry;
}

/**
 * Keeps the event log bounded: every interval, purges what is beyond the age or row limit in
 * small transactions, never an event the relay has not published (invariant 5 stays intact: a
 * replay from a purged id answers `purged`, and the caller takes a snapshot).
 */
export class RetentionLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly purged: Counter;

  constructor(private readonly options: RetentionLoopOptions) {
    this.purged = new Counter({
      name: 'tideline_website_api_events_purged_total',
      help: 'Events removed from the websites event log by retention.',
      registers: [options.metrics],
    });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.runOnce(), this.options.intervalMs);
  }

  /** One cleanup run of at most `maxBatches` transactions; a run in progress is not started twice. */
  private runOnce(): Promise<void> {
    this.running ??= (async () => {
      let total = 0;
      try {
        for (let batch = 0; batch < this.options.maxBatches; batch++) {
          const purged = await this.options.log.purgeOnce(this.options.policy);
          if (purged === 0) break;
          total += purged;
          this.purged.inc(purged);
        }
        if (total > 0) this.options.logger.info({ purged: total }, 'event log: old events purged');
      } catch (error) {
        this.options.logger.warn({ err: error }, 'event log cleanup failed; retrying next interval');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

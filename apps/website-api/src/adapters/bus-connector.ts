import type { EventBus } from '@tideline/bus';
import type { Logger } from '@tideline/runtime';

export interface BusConnectorOptions {
  /** Builds a new, not yet started bus (one per attempt: a failed start leaves a bus unusable). */
  create: () => EventBus;
  retryMs: number;
  logger: Logger;
  /** Called once the bus started. */
  onStarted?: () => void;
}

/**
 * Keeps trying to start the event bus until it is up, so website-api starts and takes writes while
 * the broker is down; the relay publishes once the bus is there. After a start the bus client
 * reconnects by itself.
 */
export class BusConnector {
  private bus: EventBus | undefined;
  private stopped = false;
  private attempts: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: BusConnectorOptions) {}

  start(): void {
    this.attempts ??= this.connect();
  }

  /** The started bus, if any. */
  get current(): EventBus | undefined {
    return this.bus;
  }

  /** True while a started bus is connected to its broker. */
  healthy(): boolean {
    return this.bus?.healthy() ?? false;
  }

  private async connect(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      const bus = this.options.create();
      try {
        await bus.start();
        if (this.stopped) {
          await bus.drain();
          return;
        }
        this.bus = bus;
        if (attempt > 1) this.options.logger.info({ attempt }, 'event bus connected');
        this.options.onStarted?.();
        return;
      } catch (error) {
        await bus.drain().catch(() => {});
        this.options.logger.warn(
          { err: error, attempt, retryMs: this.options.retryMs },
          'event bus unavailable; writes go on, events wait in the log',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.retryMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  /** Stops retrying and drains the bus (pending publishes flush). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.attempts;
    await this.bus?.drain();
  }
}

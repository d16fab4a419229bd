export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

/**
 * What `GET /readyz` answers: ready once started, not stopping, and every registered dependency
 * check passes. A check that throws or takes longer than the timeout counts as failed.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private started = false;
  private stopping = false;

  constructor(private readonly checkTimeoutMs: number) {}

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  markStarted(): void {
    this.started = true;
  }

  markStopping(): void {
    this.stopping = true;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  async report(): Promise<ReadinessReport> {
    const checks: Record<string, boolean> = { started: this.started, accepting: !this.stopping };
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        checks[name] = await this.runCheck(check);
      }),
    );
    return { ready: Object.values(checks).every(Boolean), checks };
  }

  private async runCheck(check: ReadinessCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.checkTimeoutMs);
      });
      return await Promise.race([Promise.resolve().then(check), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
  /** Dependencies reported for operators that do not gate readiness (see {@link Readiness.observe}). */
  observed?: Record<string, boolean>;
}

/**
 * What `GET /readyz` answers: ready once started, not stopping, and every registered dependency
 * check passes. A check that throws or takes longer than the timeout counts as failed.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly observed = new Map<string, ReadinessCheck>();
  private started = false;
  private stopping = false;

  constructor(private readonly checkTimeoutMs: number) {}

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /**
   * Reports a dependency in `/readyz` under `observed` without gating readiness: the service
   * keeps taking traffic while it is down (website-api commits while the broker is away).
   */
  observe(name: string, check: ReadinessCheck): void {
    this.observed.set(name, check);
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
    const [gating, observed] = await Promise.all([this.runAll(this.checks), this.runAll(this.observed)]);
    Object.assign(checks, gating);
    const ready = Object.values(checks).every(Boolean);
    return this.observed.size > 0 ? { ready, checks, observed } : { ready, checks };
  }

  private async runAll(checks: Map<string, ReadinessCheck>): Promise<Record<string, boolean>> {
    const entries = await Promise.all(
      [...checks].map(async ([name, check]) => [name, await this.runCheck(check)] as const),
    );
    return Object.fromEntries(entries);
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

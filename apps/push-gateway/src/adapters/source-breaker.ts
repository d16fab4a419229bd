import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { SourceUnavailableError } from '../domain/errors.ts';

/** A dependency the gateway's snapshots and replays come from. */
export type SourceDependency = 'website-api' | 'cache';

/** The breaker's state, as its metric encodes it: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

export interface SourceBreakerOptions {
  dependency: SourceDependency;
  /** Consecutive dependency failures that open the circuit. */
  failureThreshold: number;
  /** How long the open circuit refuses calls before one probe is let through. */
  halfOpenAfterMs: number;
  /** Called on every state change (and once with the initial state), e.g. to set a gauge. */
  onStateChange?: (state: BreakerState) => void;
  /** Called for each call refused without reaching the dependency. */
  onRejected?: () => void;
}

const STATE_OF: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

/**
 * A circuit breaker in front of one dependency (cockatiel's, consecutive-failure policy).
 *
 * Guarantees: after `failureThreshold` consecutive dependency failures (a
 * {@link SourceUnavailableError} that is the dependency's fault: 5xx, timeout, connection error,
 * an answer outside the contract) every call fails at once with {@link SourceUnavailableError}
 * (`UNAVAILABLE`) without reaching the dependency, for `halfOpenAfterMs`; then the next call is a
 * probe (calls meanwhile wait for its outcome): its success closes the circuit, its failure opens it
 * again. A 4xx (the caller's fault, e.g. 404 not found) or any other error never counts as a failure.
 */
export class SourceBreaker {
  private readonly policy: CircuitBreakerPolicy;

  constructor(private readonly options: SourceBreakerOptions) {
    this.policy = circuitBreaker(
      handleWhen((error) => error instanceof SourceUnavailableError && error.dependencyFault),
      {
        halfOpenAfter: options.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(options.failureThreshold),
      },
    );
    this.policy.onStateChange((state) => options.onStateChange?.(STATE_OF[state]));
    options.onStateChange?.('closed');
  }

  get state(): BreakerState {
    return STATE_OF[this.policy.state];
  }

  /** Runs `call` through the breaker; while open, rejects at once with `UNAVAILABLE`. */
  async execute<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(call);
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) throw error;
      this.options.onRejected?.();
      throw new SourceUnavailableError(
        `${this.options.dependency} is failing; its circuit breaker is open (not called)`,
        { cause: error },
      );
    }
  }
}

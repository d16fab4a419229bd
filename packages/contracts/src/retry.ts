/**
 * The one retry delay of Tideline: exponential backoff with jitter, shared by the bus (redelivery
 * and publish retries), the informer (list/watch restarts, cluster loads) and the browser SDK
 * (reconnects). Plain code with no imports, so it runs in a browser bundle as well as in Node.
 */

/**
 * How much of each delay is drawn at random:
 * - `full`: uniformly from 0 to the exponential delay (spreads a thundering herd the most);
 * - `equal`: from half the exponential delay to all of it (never sooner than half: no hot loop);
 * - `none`: exactly the exponential delay.
 */
export type Jitter = 'full' | 'equal' | 'none';

export interface RetryBackoff {
  /** Delay of the first retry (attempt 0), before jitter. */
  initialMs: number;
  /** No delay exceeds this; the exponential delay stops growing here. */
  maxMs: number;
  /** Default `full`. */
  jitter?: Jitter;
}

/** A source of uniform numbers in [0, 1); `Math.random` unless a test seeds one. */
export type RandomSource = () => number;

/** Doublings past this change nothing (2^30 times any sane first delay is past any cap). */
const MAX_DOUBLINGS = 30;

const JITTER_SHARE: Record<Jitter, number> = { full: 1, equal: 0.5, none: 0 };

/**
 * The delay before retry number `attempt` (0 for the first): `initialMs` doubled per attempt,
 * capped at `maxMs`, then jittered. Always within [cap·(1 − share), cap] where cap is the
 * exponential delay and share is 1 (`full`), ½ (`equal`) or 0 (`none`).
 */
export function retryDelayMs(
  policy: RetryBackoff,
  attempt: number,
  random: RandomSource = Math.random,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_DOUBLINGS);
  const capped = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const share = JITTER_SHARE[policy.jitter ?? 'full'];
  return capped * (1 - share * random());
}

/**
 * The same delays as a sequence for one retrying activity: `next()` gives the delay of the next
 * attempt and counts it; `reset()` after a success starts again from the first delay.
 */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly policy: RetryBackoff,
    private readonly random: RandomSource = Math.random,
  ) {}

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  next(): number {
    return retryDelayMs(this.policy, this.attempts++, this.random);
  }

  reset(): void {
    this.attempts = 0;
  }
}

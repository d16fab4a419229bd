import { TidelineError } from '@tideline/contracts';

/**
 * The gateway's errors. Each is a {@link TidelineError} with the protocol code the client is told,
 * so a refused client event answers `error.code` without knowing which error it was.
 */

/**
 * A source could not answer (down, timed out, answered garbage, or its circuit breaker is open);
 * nothing was sent to the client. `status`: the HTTP status it answered, if it answered one.
 */
export class SourceUnavailableError extends TidelineError {
  override readonly name = 'SourceUnavailableError';
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super('UNAVAILABLE', message, options);
    this.status = options?.status;
  }

  /** The dependency failed (5xx, no answer, garbage), not the request: a 4xx is the caller's fault. */
  get dependencyFault(): boolean {
    return this.status === undefined || this.status < 400 || this.status >= 500;
  }
}

/** The source does not know the addressed thing (e.g. an unregistered cluster). */
export class SourceNotFoundError extends TidelineError {
  override readonly name = 'SourceNotFoundError';
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** The live events of a member overflowed its buffer while it was syncing; it must sync again. */
export class SyncOverflowError extends TidelineError {
  override readonly name = 'SyncOverflowError';
  constructor(message: string) {
    super('UNAVAILABLE', message);
  }
}

/**
 * A socket asked too soon: again for a snapshot of a feed it was sent one of less than the
 * re-snapshot interval ago, or past its budget of client events. Nothing was done; its stream (if
 * any) goes on. `retryAfterMs`: when it may ask again (sent to the client with the refusal).
 */
export class RateLimitedError extends TidelineError {
  override readonly name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super('RATE_LIMITED', message);
  }
}

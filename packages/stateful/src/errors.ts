import { type ErrorCode, type FieldIssue, TidelineError } from '@tideline/contracts';

/**
 * Every error the stateful executor throws, in one place. Callers switch on the class (or on
 * `code`, the Tideline error code a service answers with when it passes the failure on). Each is a
 * {@link TidelineError}, so a service's error handling answers it with its code unchanged.
 */
export abstract class StatefulError extends TidelineError {
  override readonly name: string = 'StatefulError';
  protected constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; fields?: FieldIssue[] | undefined },
  ) {
    super(code, message, options);
  }
}

/** An argument broke its rule (bad namespace, uid, service, pod id, state, negative window, …). Nothing was sent to Redis. */
export class StatefulValidationError extends StatefulError {
  override readonly name = 'StatefulValidationError';
  declare readonly code: 'BAD_REQUEST';
  /** Each offending argument by name (`ns`, `uid`, `persistSeconds`, …) with its rule. */
  override readonly fields: FieldIssue[];
  constructor(
    /** The method that refused its arguments. */
    readonly method: string,
    fields: FieldIssue[],
  ) {
    super(
      'BAD_REQUEST',
      `${method}: invalid ${fields.map((f) => `${f.path || '(arguments)'}: ${f.message}`).join('; ')}`,
      { fields },
    );
    this.fields = fields;
  }
}

export type UnavailableReason = 'offline' | 'timeout' | 'closed' | 'busy';

/**
 * Redis could not answer: not connected (`offline`), no reply within the command timeout
 * (`timeout`), the executor was closed (`closed`), or the server refused for now (`busy`:
 * loading, read-only replica, …). A write that failed this way may or may not have been
 * applied; every write of the executor is idempotent, so retrying it is safe.
 */
export class StatefulUnavailableError extends StatefulError {
  override readonly name = 'StatefulUnavailableError';
  declare readonly code: 'UNAVAILABLE';
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('UNAVAILABLE', message, options);
  }
}

/** A key of the executor holds something it did not write (another type, or a value not in its format). Nothing was changed. */
export class StatefulWrongTypeError extends StatefulError {
  override readonly name = 'StatefulWrongTypeError';
  declare readonly code: 'INTERNAL';
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('INTERNAL', message, options);
  }
}

/** Redis answered with an error nobody expected (a bug, not a condition to handle). */
export class StatefulCommandError extends StatefulError {
  override readonly name = 'StatefulCommandError';
  declare readonly code: 'INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}

/** A chooser of computeLinkedPodIfAbsent returned a pod that was not among the candidates it was given. */
export class StatefulChooserError extends StatefulError {
  override readonly name = 'StatefulChooserError';
  declare readonly code: 'INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}

/** `key tl:{…}:…` in a script's error reply: the key it found holding something else. */
const NAMED_KEY = /\bkey (tl:\{[^}\s]*\}:\S+)/;

const BUSY_PREFIXES = ['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'TRYAGAIN', 'CLUSTERDOWN'];

/**
 * Turns what ioredis rejected with into a {@link StatefulError}. Errors that are already typed
 * pass through. Redis error replies carry a code as their first word; anything that is not a
 * reply (socket closed, timeout, offline queue disabled) means Redis was unavailable.
 */
export function toStatefulError(error: unknown, key: string): StatefulError {
  if (error instanceof StatefulError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const message = err.message;
  if (err.name === 'ReplyError') {
    const first = message.split(' ', 1)[0] ?? '';
    if (first === 'WRONGTYPE' || first === 'TLBADVALUE') {
      // A script reading several keys names the one at fault in its reply.
      const at = NAMED_KEY.exec(message)?.[1] ?? key;
      return new StatefulWrongTypeError(at, `key ${at} holds a value of the wrong type: ${message}`, {
        cause: err,
      });
    }
    if (BUSY_PREFIXES.includes(first)) {
      return new StatefulUnavailableError('busy', `Redis refused for now: ${message}`, { cause: err });
    }
    return new StatefulCommandError(`Redis error at key ${key}: ${message}`, { cause: err });
  }
  if (/timed out/i.test(message)) {
    return new StatefulUnavailableError('timeout', `Redis did not answer in time: ${message}`, {
      cause: err,
    });
  }
  return new StatefulUnavailableError('offline', `Redis is unavailable: ${message}`, { cause: err });
}

import { TidelineError } from '@tideline/contracts';

/** The broker could not be reached or refused the operation; callers may retry later. */
export class BusUnavailableError extends TidelineError {
  override readonly name = 'BusUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** The bus was used before `start()` or after `drain()`. */
export class BusStateError extends Error {
  override readonly name = 'BusStateError';
}

/** A subject belongs to none of the configured topics. */
export class UnknownTopicError extends Error {
  override readonly name = 'UnknownTopicError';
}

/**
 * A publish with {@link PublishOptions.expect} was refused by the broker: another message was
 * stored on the subject since the position the publisher expected. Nothing was stored.
 */
export class PublishExpectationError extends TidelineError {
  override readonly name = 'PublishExpectationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

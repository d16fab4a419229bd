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

import type { FieldIssue } from './validation.ts';

/**
 * Every error code Tideline answers with, over HTTP and over the socket, defined once with its meaning.
 * Clients switch on `code`; `message` is for humans and may change.
 */
export const ERROR_CODES = {
  UNAUTHORIZED:
    'No valid credentials: the token is missing, malformed, badly signed or for another issuer/audience.',
  TOKEN_EXPIRED: 'The token was valid but its `exp` has passed; obtain a fresh one (socket: `auth:refresh`).',
  FORBIDDEN: 'The token is valid but its scopes do not allow this action or room.',
  BAD_REQUEST: 'The payload does not match the schema of the event; `fields` names what is wrong.',
  VALIDATION_FAILED: 'The HTTP body or query does not match its schema; `fields` names what is wrong.',
  NOT_FOUND: 'The addressed resource does not exist.',
  CONFLICT: 'The change conflicts with existing state (for example a domain already taken).',
  RATE_LIMITED:
    'Too many requests from this client in the current window; retry later (after `retryAfterMs` when given).',
  SLOW_CONSUMER:
    'Socket only: the client did not read what the gateway sent fast enough (its outbound queue passed the limit); the connection is closed. Reconnect with backoff and resume from lastEventId.',
  TOO_MANY_CONNECTIONS: 'The user holds the most sockets allowed across all gateways; close one first.',
  UNAVAILABLE: 'A dependency (database, broker, cache) is unavailable; retry later. Nothing was changed.',
  INTERNAL: 'An unexpected server error; nothing was changed. Report it with the request id.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const errorCodes = Object.keys(ERROR_CODES) as ErrorCode[];

/** HTTP status for each code, so every service answers the same code with the same status. */
export const HTTP_STATUS_OF: Record<ErrorCode, number> = {
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  TOO_MANY_CONNECTIONS: 429,
  SLOW_CONSUMER: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * The root of every error that carries a protocol code. Services turn one into the error body
 * (`{ error: { code, message, fields? } }` over HTTP, `request:error` over the socket) without
 * knowing where it came from; an error that is not a TidelineError answers `INTERNAL`.
 */
export class TidelineError extends Error {
  override readonly name: string = 'TidelineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; fields?: FieldIssue[] | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.fields?.length) this.fields = options.fields;
  }
  /** The offending fields, when the input was at fault. */
  readonly fields?: FieldIssue[];
}

import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header that carries a request's id, in both directions. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * The longest incoming request id taken over: a UUID is 36 characters, a W3C trace id 32; longer
 * values are replaced, so an id can never carry a payload into logs.
 */
export const REQUEST_ID_MAX_LENGTH = 128;

/**
 * An incoming id is kept only when it is letters, digits, `.`, `_` and `-`: nothing that could
 * break a log line (CR/LF, quotes, ANSI escapes) or a response header (header smuggling).
 */
const SAFE_REQUEST_ID = new RegExp(`^[A-Za-z0-9._-]{1,${REQUEST_ID_MAX_LENGTH}}$`);

/** True when `value` may be used as a request id as it is. */
export function isSafeRequestId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_REQUEST_ID.test(value);
}

/**
 * The id of a request: the caller's `x-request-id` when it is safe (so a proxy's or a client's id
 * follows the request through), else a fresh random UUID. Fastify's `genReqId`; it is the
 * `reqId` of every log line of the request, the `x-request-id` response header, and
 * `error.requestId` of the error body.
 */
export function requestIdOf(request: { headers: IncomingHttpHeaders }): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return isSafeRequestId(given) ? given : randomUUID();
}

/** The ids given to requests answered outside Fastify, by request. */
const rawRequestIds = new WeakMap<object, string>();

/**
 * {@link requestIdOf} for a request answered outside Fastify, where several parts answer it or
 * record it (engine.io: its refusal, its long-polling answer, the 101 of its WebSocket upgrade):
 * the same id every time it is asked for one request, also when the id was generated.
 */
export function rawRequestIdOf(request: { headers: IncomingHttpHeaders }): string {
  let id = rawRequestIds.get(request);
  if (id === undefined) {
    id = requestIdOf(request);
    rawRequestIds.set(request, id);
  }
  return id;
}

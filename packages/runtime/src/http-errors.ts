import {
  type ErrorCode,
  type FieldIssue,
  HTTP_STATUS_OF,
  safeParse,
  TidelineError,
} from '@tideline/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { z } from 'zod';
import { answerClientError, errorBodyText } from './http-raw-errors.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';

/** A request refused at the HTTP edge with a protocol error code (a bad body, a missing scope). */
export class HttpError extends TidelineError {
  override readonly name: string = 'HttpError';
  constructor(code: ErrorCode, message: string, fields?: FieldIssue[], options?: { cause?: unknown }) {
    super(code, message, { ...options, fields });
  }
}

/**
 * The error body of every refused request: `{ error: { code, message, fields?, requestId } }`,
 * the request id also in the `x-request-id` header (set here too: framework errors answer before
 * any hook ran). The status is the code's, unless the HTTP layer refused with a status of its own
 * (413, 415).
 */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  fields?: FieldIssue[],
  status: number = HTTP_STATUS_OF[code],
): FastifyReply {
  const requestId = reply.request.id;
  return reply
    .code(status)
    .header(REQUEST_ID_HEADER, requestId)
    .send({ error: { code, message, ...(fields?.length ? { fields } : {}), requestId } });
}

/**
 * The longest path parameter any route accepts: a Kubernetes object name (a DNS-1123 subdomain,
 * e.g. a node name in the cache's `/nodes/<name>`) is at most 253 characters. Longer answers 414
 * with the error body.
 */
export const PATH_PARAM_MAX_LENGTH = 253;

/**
 * What the HTTP framework and Node's HTTP parser refuse before any route runs, answered with the
 * error body (code `VALIDATION_FAILED`) instead of their own shapes:
 * - request headers larger than Node's limit → `431` (written on the socket from `clientError`),
 *   any other unparseable request → `400`, a request not received in time → `408`;
 * - a malformed percent-escape in the path (`FST_ERR_BAD_URL`) → `400`;
 * - a path parameter longer than {@link PATH_PARAM_MAX_LENGTH} → `414`.
 * Spread into the options of `Fastify()`; {@link installErrorHandling} does the rest.
 */
export function frameworkErrorOptions(): Pick<
  FastifyServerOptions,
  'routerOptions' | 'frameworkErrors' | 'clientErrorHandler'
> {
  return {
    routerOptions: { maxParamLength: PATH_PARAM_MAX_LENGTH },
    frameworkErrors: (error, request, reply) => {
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return (reply as FastifyReply)
          .code(414)
          .type('application/json; charset=utf-8')
          .header(REQUEST_ID_HEADER, request.id)
          .send(
            errorBodyText(
              'VALIDATION_FAILED',
              `a path parameter is longer than ${PATH_PARAM_MAX_LENGTH} characters`,
              request.id,
            ),
          );
      }
      if (error.code === 'FST_ERR_BAD_URL') {
        return sendError(
          reply as FastifyReply,
          'VALIDATION_FAILED',
          'the path is not a valid URL (a malformed %-escape)',
        );
      }
      reply.log.error({ err: error }, 'request failed in the router');
      return sendError(
        reply as FastifyReply,
        'INTERNAL',
        'an unexpected error occurred; nothing was changed',
      );
    },
    clientErrorHandler: answerClientError,
  };
}

/** Parses a body, query or path with its contract; throws VALIDATION_FAILED naming every bad field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = safeParse(schema, input ?? {}, what);
  if (!result.ok) throw new HttpError('VALIDATION_FAILED', result.error.message, result.error.fields);
  return result.value;
}

/** A body refused by Fastify's parsing: VALIDATION_FAILED, with the status that names why. */
const FASTIFY_INPUT_ERRORS: Record<string, { status: number; message: (request: FastifyRequest) => string }> =
  {
    FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: () => 'the body is not valid JSON' },
    FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: () => 'the body is empty; send a JSON object' },
    FST_ERR_CTP_BODY_TOO_LARGE: {
      status: 413,
      message: (request) => `the body is larger than ${request.routeOptions.bodyLimit} bytes`,
    },
    FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: () => 'send the body as application/json' },
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
      status: 400,
      message: () => 'the content-length does not match the body',
    },
  };

/** A value met while walking parsed JSON, with the way to it (no copied paths: a body may nest deeply). */
interface Visit {
  value: unknown;
  key: string;
  parent: Visit | undefined;
}

function pathOf(visit: Visit, ...tail: string[]): string {
  const keys: string[] = [];
  for (let at: Visit | undefined = visit; at?.parent; at = at.parent) keys.push(at.key);
  return [...keys.reverse(), ...tail].join('.');
}

/**
 * Where parsed JSON has a key that would poison a prototype: an own `__proto__`, or a
 * `constructor` object with an own `prototype` (what Fastify's parser refuses). Walks without
 * recursion and in linear time: a body may nest deeply.
 */
function forbiddenKeyIn(value: unknown): string | undefined {
  const pending: Visit[] = [{ value, key: '', parent: undefined }];
  for (let visit = pending.pop(); visit; visit = pending.pop()) {
    const node = visit.value;
    if (node === null || typeof node !== 'object') continue;
    if (Object.hasOwn(node, '__proto__')) return pathOf(visit, '__proto__');
    const ctor = (node as Record<string, unknown>)['constructor'];
    if (Object.hasOwn(node, 'constructor') && ctor !== null && typeof ctor === 'object') {
      if (Object.hasOwn(ctor, 'prototype')) return pathOf(visit, 'constructor', 'prototype');
    }
    for (const [key, child] of Object.entries(node)) pending.push({ value: child, key, parent: visit });
  }
  return undefined;
}

/**
 * Routes take JSON bodies only: `application/json` is parsed (Fastify's parser, which refuses
 * `__proto__` and `constructor.prototype` keys — such a body is answered VALIDATION_FAILED naming
 * the key, not as invalid JSON), and every other content type, `text/plain` too, is refused 415
 * before the body is read.
 */
export function acceptJsonBodiesOnly(http: FastifyInstance): void {
  const parseJson = http.getDefaultJsonParser('error', 'error');
  http.removeContentTypeParser('text/plain');
  http.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    parseJson(request, text, (error, value) => {
      if ((error as { code?: string } | null)?.code !== 'FST_ERR_CTP_INVALID_JSON_BODY')
        return done(error, value);
      let key: string | undefined;
      try {
        key = forbiddenKeyIn(JSON.parse(text));
      } catch {
        // not JSON at all: Fastify's error stands
      }
      if (key === undefined) return done(error, value);
      const name = key.endsWith('__proto__') ? '__proto__' : 'constructor.prototype';
      done(
        new HttpError('VALIDATION_FAILED', `the body may not contain the key ${name}`, [
          { path: key, message: `${name} is not allowed in a body` },
        ]),
        undefined,
      );
    });
  });
}

/**
 * Every error leaves as the error body with the status of its code (and a 417 for an unsupported
 * `Expect` header, which Node would answer without a body): coded errors
 * ({@link TidelineError}, whatever layer threw them) as thrown
 * (UNAVAILABLE ones logged as warnings), unreadable bodies as VALIDATION_FAILED (413 for a body
 * over the limit, 415 for one that is not JSON, else 400), unknown routes as
 * NOT_FOUND, anything else as INTERNAL (logged).
 */
export function installErrorHandling(http: FastifyInstance): void {
  http.setErrorHandler((error, request, reply) => {
    if (error instanceof TidelineError) {
      if (error.code === 'UNAVAILABLE')
        request.log.warn({ err: error.cause ?? error, url: request.url }, 'dependency unavailable');
      return sendError(reply, error.code, error.message, error.fields);
    }
    const fastifyCode = (error as { code?: string }).code;
    const input =
      fastifyCode !== undefined && Object.hasOwn(FASTIFY_INPUT_ERRORS, fastifyCode)
        ? FASTIFY_INPUT_ERRORS[fastifyCode]
        : undefined;
    if (input) {
      return sendError(
        reply,
        'VALIDATION_FAILED',
        input.message(request),
        [{ path: '', message: (error as Error).message }],
        input.status,
      );
    }
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return sendError(reply, 'VALIDATION_FAILED', (error as Error).message);
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return sendError(reply, 'INTERNAL', 'an unexpected error occurred; nothing was changed');
  });
  // Node answers an `Expect` other than 100-continue itself (417, no body) unless this is listened for.
  http.server.on('checkExpectation', (request, response) => {
    const requestId = requestIdOf(request);
    const body = errorBodyText(
      'VALIDATION_FAILED',
      'the only expectation supported is 100-continue',
      requestId,
    );
    response.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      [REQUEST_ID_HEADER]: requestId,
      connection: 'close',
    });
    response.end(body);
  });
  http.setNotFoundHandler((request, reply) =>
    sendError(reply, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

import {
  type ErrorCode,
  type FieldIssue,
  HTTP_STATUS_OF,
  safeParse,
  TidelineError,
} from '@tideline/contracts';
import type { FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
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
 * any hook ran).
 */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  fields?: FieldIssue[],
): FastifyReply {
  const requestId = reply.request.id;
  return reply
    .code(HTTP_STATUS_OF[code])
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

const FASTIFY_INPUT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty; send a JSON object',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'send the body as application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the content-length does not match the body',
};

/**
 * Every error leaves as the error body with the status of its code (and a 417 for an unsupported
 * `Expect` header, which Node would answer without a body): coded errors
 * ({@link TidelineError}, whatever layer threw them) as thrown
 * (UNAVAILABLE ones logged as warnings), unreadable bodies as VALIDATION_FAILED, unknown routes as
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
    if (fastifyCode && fastifyCode in FASTIFY_INPUT_ERRORS) {
      return sendError(reply, 'VALIDATION_FAILED', FASTIFY_INPUT_ERRORS[fastifyCode]!, [
        { path: '', message: (error as Error).message },
      ]);
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

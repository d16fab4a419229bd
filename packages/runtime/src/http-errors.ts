import {
  type ErrorCode,
  type FieldIssue,
  HTTP_STATUS_OF,
  safeParse,
  TidelineError,
} from '@tideline/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';

/** A request refused at the HTTP edge with a protocol error code (a bad body, a missing scope). */
export class HttpError extends TidelineError {
  override readonly name: string = 'HttpError';
  constructor(code: ErrorCode, message: string, fields?: FieldIssue[], options?: { cause?: unknown }) {
    super(code, message, { ...options, fields });
  }
}

/** The error body of every refused request: `{ error: { code, message, fields? } }`. */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  fields?: FieldIssue[],
): FastifyReply {
  return reply
    .code(HTTP_STATUS_OF[code])
    .send({ error: { code, message, ...(fields?.length ? { fields } : {}) } });
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
 * Every error leaves as the error body with the status of its code: coded errors
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
  http.setNotFoundHandler((request, reply) =>
    sendError(reply, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

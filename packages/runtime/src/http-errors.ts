import { type ErrorCode, type FieldIssue, HTTP_STATUS_OF, safeParse } from '@tideline/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';

/** A request refused with a protocol error code. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldIssue[],
  ) {
    super(message);
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

/** Protocol errors leave with their code; unreadable bodies as VALIDATION_FAILED; unknown routes as NOT_FOUND; the rest as INTERNAL. */
export function installErrorHandling(http: FastifyInstance): void {
  http.setErrorHandler((error, request, reply) => {
    if (error instanceof HttpError) return sendError(reply, error.code, error.message, error.fields);
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

import {
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type ErrorCode,
  type FieldIssue,
  HTTP_STATUS_OF,
  safeParse,
  TidelineError,
} from '@tideline/contracts';
import type { FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
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

/** The error body as JSON text, for answers written before (or outside) Fastify's reply. */
function errorBodyText(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
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
    frameworkErrors: (error, _request, reply) => {
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return (reply as FastifyReply)
          .code(414)
          .type('application/json; charset=utf-8')
          .send(
            errorBodyText(
              'VALIDATION_FAILED',
              `a path parameter is longer than ${PATH_PARAM_MAX_LENGTH} characters`,
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
      return sendError(
        reply as FastifyReply,
        'INTERNAL',
        'an unexpected error occurred; nothing was changed',
      );
    },
    clientErrorHandler: answerClientError,
  };
}

const CLIENT_ERROR_ANSWERS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'the request headers are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request was not received in time' },
};

/**
 * Node's `clientError`: the request could not be parsed (headers too large, a malformed request
 * line or header). Answers with the error body and closes the connection, as Node's own handler
 * would (without a body).
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? {
    status: 400,
    message: 'the request is not valid HTTP',
  };
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorAnswer(answer.status, 'VALIDATION_FAILED', answer.message), () => socket.destroy());
}

const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/**
 * For a library that answers on the raw response itself, outside Fastify (engine.io refusing a
 * bad transport, session id or handshake with `{ code, message }`): a refusal (status 400 and
 * up) it writes leaves as the error body instead, with its message and status, code
 * VALIDATION_FAILED for a 400 (else the code of its status). Successful answers pass untouched.
 */
export function withErrorBody(response: ServerResponse): ServerResponse {
  const writeHead = response.writeHead.bind(response);
  const end = response.end.bind(response);
  let refusedWith: number | undefined;
  response.writeHead = ((statusCode: number, ...rest: unknown[]) => {
    if (statusCode < 400) return (writeHead as (...args: unknown[]) => ServerResponse)(statusCode, ...rest);
    refusedWith = statusCode;
    return response;
  }) as ServerResponse['writeHead'];
  response.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (refusedWith === undefined) return (end as (...args: unknown[]) => ServerResponse)(chunk, ...rest);
    let message = STATUS_CODES[refusedWith] ?? 'refused';
    try {
      const said = JSON.parse(String(chunk ?? '')) as { message?: unknown };
      if (typeof said.message === 'string' && said.message) message = said.message;
    } catch {
      // not JSON: the status text stands
    }
    const code = CODE_OF_STATUS[refusedWith] ?? 'VALIDATION_FAILED';
    const body = errorBodyText(code, message);
    writeHead(refusedWith, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    return end(body);
  }) as ServerResponse['end'];
  return response;
}

/** A raw HTTP answer (status line, headers, error body) for a socket no response object owns. */
function rawErrorAnswer(status: number, code: ErrorCode, message: string): string {
  const body = errorBodyText(code, message);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}

/**
 * For an upgrade (WebSocket) request's socket: a refusal a library writes on it itself (engine.io's
 * `400 Bad Request` + text, ws's `400` for a missing key) leaves as the error body, with its text
 * as the message. A `101 Switching Protocols` and everything after it pass untouched.
 */
export function withErrorBodyOnSocket(socket: Duplex): Duplex {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
  let first = true;
  const rewrite = (chunk: unknown): unknown => {
    if (!first) return chunk;
    first = false;
    const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : typeof chunk === 'string' ? chunk : '';
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    if (status < 400) return chunk;
    const split = text.indexOf('\r\n\r\n');
    const said = split < 0 ? '' : text.slice(split + 4).trim();
    return rawErrorAnswer(
      status,
      CODE_OF_STATUS[status] ?? 'VALIDATION_FAILED',
      said || STATUS_CODES[status] || 'refused',
    );
  };
  socket.write = ((chunk: unknown, ...rest: unknown[]) => write(rewrite(chunk), ...rest)) as Duplex['write'];
  socket.end = ((chunk?: unknown, ...rest: unknown[]) =>
    chunk === undefined || typeof chunk === 'function'
      ? end(chunk, ...rest)
      : end(rewrite(chunk), ...rest)) as Duplex['end'];
  return socket;
}

/** What {@link answerEngineRefusalsWithErrorBody} needs of an engine answering on raw requests (engine.io's Server). */
export interface RawRequestEngine {
  handleRequest(request: IncomingMessage, response: ServerResponse): void;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * For an engine attached to the service's HTTP server beside Fastify (engine.io under Socket.IO):
 * its refusals of requests and of upgrades under `path` leave with the error body
 * ({@link withErrorBody}, {@link withErrorBodyOnSocket}), and an upgrade request anywhere else
 * answers 404 NOT_FOUND with the error body (the engine must be created with
 * `destroyUpgrade: false`, else it closes those connections without an answer).
 */
export function answerEngineRefusalsWithErrorBody(
  server: HttpServer,
  engine: RawRequestEngine,
  path: string,
): void {
  const handleRequest = engine.handleRequest.bind(engine);
  const handleUpgrade = engine.handleUpgrade.bind(engine);
  engine.handleRequest = (request, response) => handleRequest(request, withErrorBody(response));
  engine.handleUpgrade = (request, socket, head) =>
    handleUpgrade(request, withErrorBodyOnSocket(socket), head);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const url = request.url ?? '/';
    if (url.startsWith(path)) return;
    socket.on('error', () => {});
    socket.end(rawErrorAnswer(404, 'NOT_FOUND', `no route ${request.method} ${url.split('?', 1)[0]}`), () =>
      socket.destroy(),
    );
  });
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
  http.server.on('checkExpectation', (_request, response) => {
    const body = errorBodyText('VALIDATION_FAILED', 'the only expectation supported is 100-continue');
    response.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    response.end(body);
  });
  http.setNotFoundHandler((request, reply) =>
    sendError(reply, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

import { randomUUID } from 'node:crypto';
import {
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@tideline/contracts';
import { REQUEST_ID_HEADER, rawRequestIdOf, requestIdOf } from './request-id.ts';

/*
 * Answers written outside Fastify's reply — by Node's HTTP parser, or by a library on the raw
 * response or socket (engine.io, ws) — in the one error body `{ error: { code, message, requestId } }`,
 * with the id also in the `x-request-id` header.
 */

/** The error body as JSON text; `requestId` is the id of the refused request. */
export function errorBodyText(code: ErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message, requestId } });
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
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? {
    status: 400,
    message: 'the request is not valid HTTP',
  };
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // The request could not be parsed, so any id it carried is not trusted: a fresh one.
  socket.end(rawErrorAnswer(answer.status, 'VALIDATION_FAILED', answer.message, randomUUID()), () =>
    socket.destroy(),
  );
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
export function withErrorBody(response: ServerResponse, requestId: string): ServerResponse {
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
    const body = errorBodyText(code, message, requestId);
    writeHead(refusedWith, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      [REQUEST_ID_HEADER]: requestId,
    });
    return end(body);
  }) as ServerResponse['end'];
  return response;
}

/** A raw HTTP answer (status line, headers, error body) for a socket no response object owns. */
function rawErrorAnswer(status: number, code: ErrorCode, message: string, requestId: string): string {
  const body = errorBodyText(code, message, requestId);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** An answer's first chunk: a refusal (status 400 or more) rewritten as the error body, anything else as it is. */
function errorBodyOfFirstChunk(chunk: unknown, requestId: string): unknown {
  const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : typeof chunk === 'string' ? chunk : '';
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  if (status < 400) return chunk;
  const split = text.indexOf('\r\n\r\n');
  const said = split < 0 ? '' : text.slice(split + 4).trim();
  return rawErrorAnswer(
    status,
    CODE_OF_STATUS[status] ?? 'VALIDATION_FAILED',
    said || STATUS_CODES[status] || 'refused',
    requestId,
  );
}

type Method = (this: Duplex, ...args: unknown[]) => unknown;

/** The request ids of upgrade sockets whose answer has not begun. */
const answering = new WeakMap<Duplex, string>();
/** Per socket class, the prototype its sockets have while they answer an upgrade (one, shared). */
const answeringPrototypes = new WeakMap<object, object>();

/** The socket's first chunk: its class's methods are back from now on, and a refusal is rewritten. */
function firstChunk(socket: Duplex, proto: object, chunk: unknown): unknown {
  const requestId = answering.get(socket);
  Object.setPrototypeOf(socket, proto);
  if (requestId === undefined) return chunk;
  answering.delete(socket);
  return errorBodyOfFirstChunk(chunk, requestId);
}

function answeringPrototypeOf(proto: object): object {
  const known = answeringPrototypes.get(proto);
  if (known) return known;
  const write = (proto as Record<'write', Method>).write;
  const end = (proto as Record<'end', Method>).end;
  const method = (value: Method): PropertyDescriptor => ({ value, writable: true, configurable: true });
  const answeringProto = Object.create(proto, {
    write: method(function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
      return write.call(this, firstChunk(this, proto, chunk), ...rest);
    }),
    end: method(function (this: Duplex, chunk?: unknown, ...rest: unknown[]) {
      return chunk === undefined || typeof chunk === 'function'
        ? end.call(this, chunk, ...rest)
        : end.call(this, firstChunk(this, proto, chunk), ...rest);
    }),
  }) as object;
  answeringPrototypes.set(proto, answeringProto);
  return answeringProto;
}

/**
 * For an upgrade (WebSocket) request's socket: a refusal a library writes on it itself (engine.io's
 * `400 Bad Request` + text, ws's `400` for a missing key) leaves as the error body, with its text
 * as the message. A `101 Switching Protocols` and everything after it pass untouched.
 */
export function withErrorBodyOnSocket(socket: Duplex, requestId: string): Duplex {
  if (!Object.hasOwn(socket, 'write') && !Object.hasOwn(socket, 'end')) {
    // The socket's class's methods: while the answer has not begun it gets a prototype in front of
    // its class, shared by every such socket, then its class back. Nothing is added to or deleted
    // from the socket itself, so a long-lived WebSocket keeps its fast shape (a deleted property
    // would turn it into a dictionary, about 1.3 KiB more per socket) and no wrappers or closures.
    answering.set(socket, requestId);
    Object.setPrototypeOf(socket, answeringPrototypeOf(Object.getPrototypeOf(socket) as object));
    return socket;
  }
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
  const own = {
    write: Object.getOwnPropertyDescriptor(socket, 'write'),
    end: Object.getOwnPropertyDescriptor(socket, 'end'),
  };
  // Only the first chunk (the answer's status line) is looked at: after it the socket gets its own
  // methods back, so a long-lived WebSocket keeps no wrappers and no closures (per frame, per socket).
  const restore = () => {
    for (const key of ['write', 'end'] as const) {
      const descriptor = own[key];
      if (descriptor) Object.defineProperty(socket, key, descriptor);
      else delete (socket as unknown as Record<string, unknown>)[key];
    }
  };
  let first = true;
  const rewrite = (chunk: unknown): unknown => {
    if (!first) return chunk;
    first = false;
    restore();
    return errorBodyOfFirstChunk(chunk, requestId);
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
  // rawRequestIdOf: a refusal has the id the engine's other answers to the request would have had.
  engine.handleRequest = (request, response) =>
    handleRequest(request, withErrorBody(response, rawRequestIdOf(request)));
  engine.handleUpgrade = (request, socket, head) =>
    handleUpgrade(request, withErrorBodyOnSocket(socket, rawRequestIdOf(request)), head);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const url = request.url ?? '/';
    if (url.startsWith(path)) return;
    socket.on('error', () => {});
    socket.end(
      rawErrorAnswer(
        404,
        'NOT_FOUND',
        `no route ${request.method} ${url.split('?', 1)[0]}`,
        requestIdOf(request),
      ),
      () => socket.destroy(),
    );
  });
}

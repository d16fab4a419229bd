/**
 * The development token endpoint: `GET /token` answers `{ token, expiresAt }`, a short-lived user
 * token signed with the development key and the development scopes, so the console can use the
 * SDK's `getToken` (and refresh before expiry) as a real app does with its identity provider.
 *
 * Development only: it refuses to start outside TIDELINE_ENV=development/test, listens on
 * 127.0.0.1 only, answers only requests addressed to a loopback host name (a DNS-rebinding page
 * cannot reach it under its own name), and lets only the configured browser origins read a token.
 * Like every service's, each answer carries `x-request-id` (the caller's when it is safe, else a
 * generated one) and each refusal the error body `{ error: { code, message, requestId } }`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signToken } from '@tideline/auth';
import type { ErrorCode } from '@tideline/contracts';
import { answerClientError, errorBodyText } from './http-raw-errors.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';

export interface DevTokenEndpointOptions {
  /** TIDELINE_ENV: anything but `development`/`test` refuses to start. */
  environment: string;
  secret: string;
  issuer: string;
  audience: string;
  scopes: readonly string[];
  /** Lifetime of each token issued. */
  ttlSeconds: number;
  /** 0 picks a free port. */
  port: number;
  /** Origins whose pages may read the answer (CORS). */
  allowedOrigins: readonly string[];
  /** The token's subject. */
  sub?: string;
}

export interface DevTokenEndpoint {
  /** `http://127.0.0.1:<port>/token` */
  url: string;
  close(): Promise<void>;
}

export class DevTokenEndpointRefused extends Error {
  override readonly name = 'DevTokenEndpointRefused';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Every answer carries the request's id (`x-request-id`), as the services' answers do. */
function send(
  response: ServerResponse,
  requestId: string,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    [REQUEST_ID_HEADER]: requestId,
    ...headers,
  });
  response.end(body);
}

export async function startDevTokenEndpoint(options: DevTokenEndpointOptions): Promise<DevTokenEndpoint> {
  if (options.environment !== 'development' && options.environment !== 'test')
    throw new DevTokenEndpointRefused(
      `the development token endpoint runs only with TIDELINE_ENV=development or test (it is ${options.environment})`,
    );
  const allowed = new Set(options.allowedOrigins);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    // The caller's x-request-id when it is safe, else a generated one: the header of every answer
    // and `error.requestId` of every refusal.
    const requestId = requestIdOf(request);
    const refuse = (status: number, code: ErrorCode, message: string, headers?: Record<string, string>) =>
      send(response, requestId, status, errorBodyText(code, message, requestId), headers);
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK_HOSTS.has(host)) return refuse(403, 'FORBIDDEN', 'only loopback host names are served');
    const origin = request.headers.origin;
    const cors: Record<string, string> =
      origin !== undefined && allowed.has(origin)
        ? {
            'access-control-allow-origin': origin,
            'access-control-expose-headers': REQUEST_ID_HEADER,
            vary: 'origin',
          }
        : {};
    if (origin !== undefined && !allowed.has(origin))
      return refuse(403, 'FORBIDDEN', 'this origin may not read development tokens');
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== '/token') return refuse(404, 'NOT_FOUND', 'GET /token', cors);
    if (request.method !== 'GET') return refuse(405, 'BAD_REQUEST', 'GET /token', { ...cors, allow: 'GET' });
    const token = signToken({
      secret: options.secret,
      sub: options.sub ?? 'console',
      scopes: [...options.scopes],
      issuer: options.issuer,
      audience: options.audience,
      expiresInSeconds: options.ttlSeconds,
    });
    const expiresAt = new Date(Date.now() + options.ttlSeconds * 1000).toISOString();
    return send(response, requestId, 200, JSON.stringify({ token, expiresAt }), cors);
  });
  // A request Node cannot parse is refused with the error body and a fresh id, as by the services.
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

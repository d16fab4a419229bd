/**
 * The development token endpoint: `GET /token` answers `{ token, expiresAt }`, a short-lived user
 * token signed with the development key and the development scopes, so the console can use the
 * SDK's `getToken` (and refresh before expiry) as a real app does with its identity provider.
 *
 * Development only: it refuses to start outside TIDELINE_ENV=development/test, listens on
 * 127.0.0.1 only, answers only requests addressed to a loopback host name (a DNS-rebinding page
 * cannot reach it under its own name), and lets only the configured browser origins read a token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signToken } from './sign.ts';

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

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

const refusal = (code: string, message: string) => ({ error: { code, message } });

export async function startDevTokenEndpoint(options: DevTokenEndpointOptions): Promise<DevTokenEndpoint> {
  if (options.environment !== 'development' && options.environment !== 'test')
    throw new DevTokenEndpointRefused(
      `the development token endpoint runs only with TIDELINE_ENV=development or test (it is ${options.environment})`,
    );
  const allowed = new Set(options.allowedOrigins);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK_HOSTS.has(host))
      return send(response, 403, refusal('FORBIDDEN', 'only loopback host names are served'));
    const origin = request.headers.origin;
    const cors: Record<string, string> =
      origin !== undefined && allowed.has(origin)
        ? { 'access-control-allow-origin': origin, vary: 'origin' }
        : {};
    if (origin !== undefined && !allowed.has(origin))
      return send(response, 403, refusal('FORBIDDEN', 'this origin may not read development tokens'));
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== '/token') return send(response, 404, refusal('NOT_FOUND', 'GET /token'), cors);
    if (request.method !== 'GET')
      return send(response, 405, refusal('BAD_REQUEST', 'GET /token'), { ...cors, allow: 'GET' });
    const token = signToken({
      secret: options.secret,
      sub: options.sub ?? 'console',
      scopes: [...options.scopes],
      issuer: options.issuer,
      audience: options.audience,
      expiresInSeconds: options.ttlSeconds,
    });
    const expiresAt = new Date(Date.now() + options.ttlSeconds * 1000).toISOString();
    return send(response, 200, { token, expiresAt }, cors);
  });
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

/**
 * The image's `console` service: the built console (apps/console, `vite build`) served by node on
 * TIDELINE_CONSOLE_HOST:TIDELINE_CONSOLE_PORT. In development/test it also answers what the Vite
 * dev server answers under `npm start`: `/dev-config.json` (gateways, clusters, page size) and,
 * same-origin, `/token` from an in-process development token endpoint (which itself stays on
 * 127.0.0.1 inside the container). Outside development there is no token route: open the console
 * with `#token=…` or `#tokenUrl=…` of your identity provider.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authSettings, commonSettings, consoleSettings, loadConfigOrExit } from '@tideline/config';
import { type DevTokenEndpoint, startDevTokenEndpoint } from '@tideline/runtime';

const { environment } = commonSettings;
const { jwtIssuer, jwtAudience, jwtDevScopes } = authSettings;
const config = loadConfigOrExit({ environment, jwtIssuer, jwtAudience, jwtDevScopes, ...consoleSettings });
/** `vite build apps/console` output, next to the bundles (infra/compose/bundle.mjs puts it there). */
const STATIC_DIR = fileURLToPath(new URL('../console/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ level: 'info', service: 'console', msg, ...extra })}\n`);

const secret = process.env['TIDELINE_JWT_SECRET'];
const development = config.environment === 'development' || config.environment === 'test';
let tokens: DevTokenEndpoint | undefined;
if (development && secret)
  tokens = await startDevTokenEndpoint({
    environment: config.environment,
    secret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    scopes: config.jwtDevScopes,
    ttlSeconds: config.devTokenEndpointTtlSeconds,
    port: 0,
    allowedOrigins: [],
  });

const server = createServer(async (request, response) => {
  const path = normalize(new URL(request.url ?? '/', 'http://console').pathname);
  if (path === '/healthz' || path === '/readyz') return response.writeHead(200).end('ok');
  if (tokens && path === '/dev-config.json') {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return response.end(
      JSON.stringify({
        tokenUrl: '/token',
        gateways: config.consoleGateways,
        clusters: config.consoleClusters,
        pageSize: config.consolePageSize,
        refreshBeforeExpiryMs: config.consoleTokenRefreshBeforeExpiryMs,
      }),
    );
  }
  if (tokens && path === '/token') {
    const answer = await fetch(tokens.url, { cache: 'no-store' });
    response.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return response.end(await answer.text());
  }
  const file = path === '/' || path.includes('..') ? 'index.html' : path.slice(1);
  try {
    const body = await readFile(join(STATIC_DIR, file));
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(config.consolePort, config.consoleHost, resolve));
log('listening', { host: config.consoleHost, port: config.consolePort, tokens: Boolean(tokens) });
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    server.close();
    void (tokens?.close() ?? Promise.resolve()).then(() => process.exit(0));
  });

import { int, list, ms, port, seconds, str, url } from '../setting.ts';

/**
 * The console in development (`npm start`): where its Vite server listens, what it is told
 * (gateways, clusters, page size, token refresh), and the development token endpoint it gets its
 * short-lived tokens from (packages/runtime dev-token-endpoint; never started outside development/test).
 */
export const consoleSettings = {
  consolePort: port({
    env: 'TIDELINE_CONSOLE_PORT',
    default: 5173,
    doc: 'Port of the console (Vite dev server) that `npm start` runs on 127.0.0.1.',
  }),
  consoleHost: str({
    env: 'TIDELINE_CONSOLE_HOST',
    default: '127.0.0.1',
    doc: 'Interface the console server of the image (`console` service) listens on; 0.0.0.0 in a container.',
  }),
  consoleGateways: list({
    env: 'TIDELINE_CONSOLE_GATEWAYS',
    default: ['http://127.0.0.1:3000'],
    doc: 'Push-gateway URLs the console connects to (a reconnect moves to the next one).',
  }),
  consoleClusters: list({
    env: 'TIDELINE_CONSOLE_CLUSTERS',
    default: ['demo'],
    doc: 'Clusters the console shows as node tabs.',
  }),
  consolePageSize: int({
    env: 'TIDELINE_CONSOLE_PAGE_SIZE',
    min: 1,
    max: 1_000,
    default: 50,
    doc: 'Websites per page of the console table (also `#pageSize=` in its URL).',
  }),
  consoleTokenRefreshBeforeExpiryMs: ms({
    env: 'TIDELINE_CONSOLE_TOKEN_REFRESH_BEFORE_EXPIRY_MS',
    default: 60_000,
    min: 0,
    doc: 'The console asks the token endpoint for a fresh token this long before its token expires (keep it below the token lifetime).',
  }),
  devTokenEndpointPort: port({
    env: 'TIDELINE_DEV_TOKEN_ENDPOINT_PORT',
    default: 3008,
    allowZero: true,
    doc: 'Port of the development token endpoint `npm start` runs on 127.0.0.1 (0 picks a free port). Refuses to start outside TIDELINE_ENV=development/test.',
  }),
  devTokenEndpointTtlSeconds: seconds({
    env: 'TIDELINE_DEV_TOKEN_ENDPOINT_TTL_SECONDS',
    default: 300,
    min: 1,
    max: 3_600,
    doc: 'Lifetime of each token the development token endpoint issues (signed with the JWT secret, TIDELINE_JWT_DEV_SCOPES).',
  }),
  devTokenEndpointAllowedOrigins: list({
    env: 'TIDELINE_DEV_TOKEN_ENDPOINT_ALLOWED_ORIGINS',
    default: ['http://127.0.0.1:5173', 'http://localhost:5173'],
    doc: 'Browser origins allowed to read tokens from the development token endpoint (CORS); pages of other origins cannot.',
  }),
  consoleOperatorRefreshMs: ms({
    env: 'TIDELINE_CONSOLE_OPERATOR_REFRESH_MS',
    default: 2_000,
    min: 250,
    doc: "How often the console operator view reloads the services' operator endpoints (gateways, relay, informer clusters, cache clusters, dead letters).",
  }),
  consoleWebsiteApiUrl: url({
    protocols: ['http', 'https'],
    env: 'TIDELINE_CONSOLE_WEBSITE_API_URL',
    default: 'http://127.0.0.1:3001',
    doc: 'website-api URL the console operator view reads the relay lag from.',
  }),
  consoleCacheUrl: url({
    protocols: ['http', 'https'],
    env: 'TIDELINE_CONSOLE_CACHE_URL',
    default: 'http://127.0.0.1:3002',
    doc: "Cache URL the console operator view reads the cache's clusters and the dead letters from.",
  }),
  consoleInformerUrl: url({
    protocols: ['http', 'https'],
    env: 'TIDELINE_CONSOLE_INFORMER_URL',
    default: 'http://127.0.0.1:3003',
    doc: 'Informer URL the console operator view reads the cluster states from.',
  }),
};

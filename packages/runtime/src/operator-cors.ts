import type { FastifyInstance } from 'fastify';

/** Path prefix of every operator endpoint (read-only views behind scope `operator:read`). */
export const OPERATOR_PATH_PREFIX = '/api/v1/operator/';

/**
 * Lets the pages of `origins` (the console) read the operator endpoints from a browser: answers
 * their preflight and names the origin on the answers. Nothing else of the service is opened to
 * other origins. Tokens travel in `Authorization` (no cookies), so no credentials mode is needed.
 */
export function allowOperatorOrigins(http: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins);
  http.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith(OPERATOR_PATH_PREFIX)) return;
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'origin');
    reply.header('access-control-expose-headers', 'x-request-id');
    if (request.method === 'OPTIONS') {
      return reply
        .code(204)
        .header('access-control-allow-methods', 'GET')
        .header('access-control-allow-headers', 'authorization, x-request-id')
        .send();
    }
  });
}

import type { FastifyInstance } from 'fastify';

/**
 * Adds `observed` to the `/readyz` answer: dependencies whose health is reported but does not
 * gate readiness. website-api stays ready while the broker is down — writes still commit and the
 * relay catches up later — so the bus is observed, and only the database is a readiness check.
 */
export function observeInReadyz(http: FastifyInstance, observed: Record<string, () => boolean>): void {
  http.addHook('onSend', async (request, _reply, payload) => {
    if (request.routeOptions.url !== '/readyz' || typeof payload !== 'string') return payload;
    const body = JSON.parse(payload) as Record<string, unknown>;
    body['observed'] = Object.fromEntries(Object.entries(observed).map(([name, check]) => [name, check()]));
    return JSON.stringify(body);
  });
}

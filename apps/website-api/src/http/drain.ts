import { sendError } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';

/**
 * Graceful stop of the API before its dependencies: once `drain()` is called, new API requests
 * answer 503 UNAVAILABLE (clients retry on another replica) and `drain()` resolves when the
 * requests already running have finished — so none of them meets a closed database pool.
 */
export function installDrain(http: FastifyInstance): { drain(timeoutMs: number): Promise<void> } {
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  http.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/') && !request.url.startsWith('/internal/')) return;
    if (draining) return sendError(reply, 'UNAVAILABLE', 'the service is stopping; retry on another replica');
    inFlight++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
      if (inFlight === 0) idle?.();
    };
    reply.raw.once('finish', finish);
    reply.raw.once('close', finish);
  });
  return {
    async drain(timeoutMs: number) {
      draining = true;
      if (inFlight === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
  };
}

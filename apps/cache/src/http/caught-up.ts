import { HttpError } from '@tideline/runtime';
import type { preHandlerAsyncHookHandler } from 'fastify';

/**
 * A route's second preHandler (after its authorisation) for answers read from the nodes read
 * model: while the model is still being rebuilt from the bus (the cache listens from its start,
 * see startCache) they answer 503 UNAVAILABLE instead of a partial model.
 */
export function requireCaughtUp(caughtUp: () => boolean): preHandlerAsyncHookHandler {
  return async () => {
    if (!caughtUp())
      throw new HttpError(
        'UNAVAILABLE',
        'the nodes read model is still being rebuilt from the bus; retry shortly',
      );
  };
}

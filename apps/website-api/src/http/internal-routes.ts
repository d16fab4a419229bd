import type { TokenVerifier } from '@tideline/auth';
import { INTERNAL_PATHS, INTERNAL_SCOPE, ReplayQuery } from '@tideline/contracts';
import { requireScope, validate } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import { translateDatabaseError } from '../adapters/database-errors.ts';
import type { WebsiteLogReader } from '../domain/ports.ts';

/**
 * The gateways' endpoints (scope `internal`): the websites snapshot (WebsitesSnapshot) and the
 * replay of events after an id (WebsitesReplay), both read from the event log consistently.
 */
export function registerInternalRoutes(
  http: FastifyInstance,
  options: { log: WebsiteLogReader; verifier: TokenVerifier },
): void {
  const internal = { preHandler: requireScope(options.verifier, INTERNAL_SCOPE) };

  http.get(INTERNAL_PATHS.websitesSnapshot, internal, async () => {
    try {
      return await options.log.snapshot();
    } catch (error) {
      throw translateDatabaseError(error);
    }
  });

  http.get(INTERNAL_PATHS.websitesEvents, internal, async (request) => {
    const query = validate(ReplayQuery, request.query, 'replay query');
    try {
      return await options.log.replay(query);
    } catch (error) {
      throw translateDatabaseError(error);
    }
  });
}

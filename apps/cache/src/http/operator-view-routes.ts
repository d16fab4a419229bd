import { SCOPES, type TokenVerifier } from '@tideline/auth';
import { DeadLetterIndex, type DeadLetterPage, type EventBus } from '@tideline/bus';
import { type DeadLettersAnswer, DeadLettersQuery, OPERATOR_API } from '@tideline/contracts';
import { HttpError, requirePrincipal, validate } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type { NodeReadModel } from '../domain/read-model.ts';
import { requireCaughtUp } from './caught-up.ts';

/**
 * Read-only views for the console's operator page (scope `operator:read`): every cluster of the
 * read model, and the bus's dead letters, a page at a time (without their payloads; `npm run dlq --
 * show` has them). The dead letters' positions are remembered between requests, so a page reads
 * what the dead-letter topic gained since the last one and the page, not the whole topic.
 */
export function registerOperatorViewRoutes(
  http: FastifyInstance,
  options: {
    model: NodeReadModel;
    /** True once the model caught up with the bus; before, the clusters view answers UNAVAILABLE (dead letters do not need it). */
    caughtUp: () => boolean;
    bus: EventBus;
    deadLetterPageSize: number;
    verifier: TokenVerifier;
  },
): void {
  const operator = requirePrincipal(
    options.verifier,
    (p) => p.scopes.has(SCOPES.operatorRead),
    `scope ${SCOPES.operatorRead}`,
  );

  const deadLetters = new DeadLetterIndex(options.bus, { pageSize: options.deadLetterPageSize });

  http.get(
    OPERATOR_API.cacheClusters,
    { preHandler: [operator, requireCaughtUp(options.caughtUp)] },
    async () => ({
      data: options.model.clusterNames().map((cluster) => options.model.summary(cluster)),
    }),
  );

  http.get(
    OPERATOR_API.deadLetters,
    { preHandler: operator },
    async (request): Promise<DeadLettersAnswer> => {
      const query = validate(DeadLettersQuery, request.query, 'query');
      let page: DeadLetterPage;
      try {
        page = await deadLetters.page(query);
      } catch (error) {
        throw new HttpError('UNAVAILABLE', 'the bus is unavailable', undefined, { cause: error });
      }
      const data = page.letters.map((l) => ({
        id: l.id,
        topic: l.topic,
        subject: l.subject,
        group: l.group,
        reason: l.reason,
        deliveries: l.deliveries,
        msgId: l.msgId,
        ...(l.deadLetteredAt ? { deadLetteredAt: l.deadLetteredAt.toISOString() } : {}),
        redriven: l.redriven,
      }));
      return { data, total: page.total, ...(page.next !== undefined ? { next: page.next } : {}) };
    },
  );
}

import { SCOPES, type TokenVerifier } from '@tideline/auth';
import { OPERATOR_API, type RelayOperatorAnswer } from '@tideline/contracts';
import { HttpError, requirePrincipal } from '@tideline/runtime';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';

interface RelayRow {
  last: string;
  published: string;
  owner: string | null;
  lease_until: Date | null;
  age: number | null;
}

/**
 * The relay's progress for the operator view (scope `operator:read`, read-only): committed against
 * published event ids, the age of the oldest unpublished event, and who holds the relay lease.
 */
export function registerOperatorRoutes(
  http: FastifyInstance,
  options: { pool: pg.Pool; topic: string; verifier: TokenVerifier },
): void {
  const operator = requirePrincipal(
    options.verifier,
    (p) => p.scopes.has(SCOPES.operatorRead),
    `scope ${SCOPES.operatorRead}`,
  );
  http.get(OPERATOR_API.relay, { preHandler: operator }, async (): Promise<RelayOperatorAnswer> => {
    let row: RelayRow | undefined;
    try {
      ({
        rows: [row],
      } = await options.pool.query<RelayRow>(
        `SELECT m.last_event_id::text AS last, r.last_published_id::text AS published, r.owner, r.lease_until,
                EXTRACT(EPOCH FROM now() - (SELECT min(e.created_at) FROM ws_events e
                                             WHERE e.topic = m.topic AND e.id > r.last_published_id))::float8 AS age
           FROM ws_log_meta m JOIN ws_relay_state r ON r.topic = m.topic
          WHERE m.topic = $1`,
        [options.topic],
      ));
    } catch (error) {
      throw new HttpError('UNAVAILABLE', 'the database is unavailable', undefined, { cause: error });
    }
    if (!row) throw new HttpError('UNAVAILABLE', `no relay state for topic ${options.topic}`);
    const lastEventId = Number(row.last);
    const publishedId = Number(row.published);
    return {
      data: {
        topic: options.topic,
        lastEventId,
        publishedId,
        lag: Math.max(0, lastEventId - publishedId),
        lagSeconds: Math.max(0, row.age ?? 0),
        ...(row.owner ? { owner: row.owner } : {}),
        ...(row.lease_until ? { leaseExpiresAt: row.lease_until.toISOString() } : {}),
      },
    };
  });
}

import type { CreateWebsiteBody, UpdateWebsiteBody } from '@tideline/contracts';
import { Prisma } from '@tideline/db';

/**
 * The website changes as single SQL statements: each checks, writes and builds the changed
 * website's list item in one round trip, and — given the event log's parts (`events`, see
 * PostgresEventLog.statementParts) — takes the topic lock before writing and writes its event too.
 * Run in autocommit, a statement is one transaction: the change and its event commit together or
 * not at all. Each answers `topic_held`: false when the topic lock was only tried and another
 * writer had it, in which case nothing was written.
 *
 * Every statement defines `event_payload(payload)`: the item after the change (one row), or no row
 * when nothing is written (a refused or empty change).
 */

/** The event log's CTEs for a statement whose writes start once CTE `gate` has a row; null: no event log. */
export type EventParts = ((gate: string) => { lock: Prisma.Sql; append: Prisma.Sql }) | null;

/** The columns every change statement answers about its event: its id and its `created_at` (null: no event). */
export interface EventOutcome {
  event_id: bigint | null;
  event_at: Date | null;
}

/**
 * The list item of website `w` (id, https_enabled, status, updated_at) with line group `lg` (id,
 * name, cname) and domains `domains` (primary first): the same item as domain/website-item.ts
 * builds from a loaded website (a test holds the two equal).
 */
const item = (w: string, lg: string, domains: string) =>
  Prisma.raw(`jsonb_build_object(
    'website_id', ${w}.id,
    'primary_domain', (${domains})[1],
    'domains', to_jsonb(${domains}),
    'cname', ${lg}.cname,
    'line_group', jsonb_build_object('id', ${lg}.id, 'name', ${lg}.name),
    'https_enabled', ${w}.https_enabled,
    'status', ${w}.status,
    'updated_at', to_char(${w}.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`);

/** The rows of CTE `taken` (domains another website uses), as `[{ domain, website_id }]`. */
const TAKEN_JSON = Prisma.raw(
  `(SELECT coalesce(jsonb_agg(jsonb_build_object('domain', domain, 'website_id', website_id)), '[]'::jsonb) FROM taken)`,
);

/** `topic_lock` and the event CTEs of `events` gated on `gate`; without an event log, a lock that is always held. */
function eventCtes(
  events: EventParts,
  gate: string,
): { lock: Prisma.Sql; append: Prisma.Sql; event: Prisma.Sql } {
  if (!events)
    return {
      lock: Prisma.raw('topic_lock AS (SELECT true AS held)'),
      append: Prisma.empty,
      event: Prisma.raw('NULL::bigint AS event_id, NULL::timestamptz AS event_at'),
    };
  const parts = events(gate);
  return {
    lock: parts.lock,
    append: Prisma.sql`, ${parts.append}`,
    event: Prisma.raw('(SELECT id FROM appended) AS event_id, (SELECT created_at FROM appended) AS event_at'),
  };
}

/** The statement may write: the topic lock is held. */
const HELD = Prisma.raw('EXISTS (SELECT 1 FROM topic_lock WHERE held)');

export interface CreateOutcome extends EventOutcome {
  topic_held: boolean;
  line_group_found: boolean;
  taken: { domain: string; website_id: number }[];
  item: unknown;
}

/**
 * Creates the website with its domains (the first primary) when its line group exists and none
 * of its domains is used by another website; otherwise writes nothing and says why.
 */
export function createWebsiteStatement(body: CreateWebsiteBody, events: EventParts): Prisma.Sql {
  const log = eventCtes(events, 'gate');
  return Prisma.sql`
    WITH input AS (
      SELECT ${body.domains}::varchar[] AS domains
    ), lg AS (
      SELECT id, name, cname FROM line_groups WHERE id = ${body.line_group_id}
    ), taken AS (
      SELECT d.domain, d.website_id FROM website_domains d, input WHERE d.domain = ANY(input.domains)
    ), gate AS (
      SELECT 1 FROM lg WHERE NOT EXISTS (SELECT 1 FROM taken)
    ), ${log.lock}, w AS (
      INSERT INTO websites (line_group_id, https_enabled, status)
      SELECT lg.id, ${body.https_enabled}, ${body.status}::website_status FROM lg
       WHERE NOT EXISTS (SELECT 1 FROM taken) AND ${HELD}
      RETURNING id, https_enabled, status, updated_at
    ), added AS (
      INSERT INTO website_domains (website_id, domain, is_primary)
      SELECT w.id, x.domain, x.ord = 1
        FROM w, input, unnest(input.domains) WITH ORDINALITY AS x(domain, ord)
       ORDER BY x.ord
    ), event_payload AS (
      SELECT ${item('w', 'lg', 'input.domains')} AS payload FROM w, lg, input
    )${log.append}
    SELECT ${HELD} AS topic_held, EXISTS (SELECT 1 FROM lg) AS line_group_found, ${TAKEN_JSON} AS taken,
           (SELECT payload FROM event_payload) AS item, ${log.event}`;
}

export interface UpdateOutcome extends EventOutcome {
  /** The website exists. */
  found: boolean;
  /**
   * The website was not changed by another transaction between this statement's snapshot and its
   * row lock; when false, nothing was written: run it again after taking the row lock.
   */
  fresh: boolean;
  topic_held: boolean;
  changed: boolean;
  line_group_found: boolean;
  taken: { domain: string; website_id: number }[];
  /** The item after the change, or as it is when nothing changed. */
  item: unknown;
}

/**
 * Changes the website's fields given in `body` that differ from its current state, under its row
 * lock: domains are replaced as a whole (the first primary), the line group must exist and the
 * domains must not be used by another website. Writes nothing when nothing differs, when refused,
 * or when the row changed after the statement's snapshot was taken (`fresh` false: run it again in
 * a transaction that took the row lock first, so its snapshot includes every change of the row).
 */
export function updateWebsiteStatement(body: UpdateWebsiteBody, events: EventParts): Prisma.Sql {
  const domains = body.domains ?? null;
  const log = eventCtes(events, 'ok');
  return Prisma.sql`
    WITH locked AS (
      SELECT id, xmin::text AS version, line_group_id, https_enabled, status, updated_at
        FROM websites WHERE id = ${body.website_id} FOR UPDATE
    ), seen AS (
      SELECT xmin::text AS version FROM websites WHERE id = ${body.website_id}
    ), cur AS (
      SELECT l.* FROM locked l JOIN seen s ON s.version = l.version
    ), cur_domains AS (
      SELECT array_agg(d.domain ORDER BY d.is_primary DESC, d.id)::varchar[] AS domains
        FROM website_domains d WHERE d.website_id = (SELECT id FROM cur)
    ), target AS (
      SELECT cur.id,
             coalesce(${body.line_group_id ?? null}::int, cur.line_group_id) AS line_group_id,
             coalesce(${body.https_enabled ?? null}::boolean, cur.https_enabled) AS https_enabled,
             coalesce(${body.status ?? null}::website_status, cur.status) AS status,
             coalesce(${domains}::varchar[], cd.domains) AS domains,
             coalesce(${domains}::varchar[], cd.domains) IS DISTINCT FROM cd.domains AS domains_changed,
             coalesce(${domains}::varchar[], cd.domains) IS DISTINCT FROM cd.domains
               OR coalesce(${body.line_group_id ?? null}::int, cur.line_group_id) <> cur.line_group_id
               OR coalesce(${body.https_enabled ?? null}::boolean, cur.https_enabled) <> cur.https_enabled
               OR coalesce(${body.status ?? null}::website_status, cur.status) <> cur.status AS changed
        FROM cur, cur_domains cd
    ), lg AS (
      SELECT id, name, cname FROM line_groups WHERE id = (SELECT line_group_id FROM target)
    ), taken AS (
      SELECT domain, website_id FROM website_domains
       WHERE domain = ANY(${domains}::varchar[]) AND website_id <> ${body.website_id}
         AND (SELECT domains_changed FROM target)
    ), ok AS (
      SELECT t.* FROM target t
       WHERE t.changed AND EXISTS (SELECT 1 FROM lg) AND NOT EXISTS (SELECT 1 FROM taken)
    ), ${log.lock}, removed AS (
      DELETE FROM website_domains
       WHERE website_id = (SELECT id FROM ok WHERE domains_changed) AND ${HELD}
      RETURNING id
    ), added AS (
      -- after the old domains are gone (the count runs the removal first)
      INSERT INTO website_domains (website_id, domain, is_primary)
      SELECT ok.id, x.domain, x.ord = 1
        FROM ok, unnest(ok.domains) WITH ORDINALITY AS x(domain, ord)
       WHERE ok.domains_changed AND ${HELD} AND (SELECT count(*) FROM removed) >= 0
       ORDER BY x.ord
    ), w AS (
      UPDATE websites
         SET line_group_id = ok.line_group_id, https_enabled = ok.https_enabled, status = ok.status,
             updated_at = now()
        FROM ok WHERE websites.id = ok.id AND ${HELD}
      RETURNING websites.id, websites.https_enabled, websites.status, websites.updated_at
    ), event_payload AS (
      SELECT ${item('w', 'lg', 'ok.domains')} AS payload FROM w, lg, ok
    )${log.append}
    SELECT EXISTS (SELECT 1 FROM locked) AS found, EXISTS (SELECT 1 FROM cur) AS fresh, ${HELD} AS topic_held,
           coalesce((SELECT changed FROM target), false) AS changed,
           EXISTS (SELECT 1 FROM lg) AS line_group_found, ${TAKEN_JSON} AS taken,
           coalesce((SELECT payload FROM event_payload),
                    (SELECT ${item('cur', 'lg', 't.domains')} FROM cur, lg, target t WHERE NOT t.changed)) AS item,
           ${log.event}`;
}

export interface DeleteOutcome extends EventOutcome {
  found: boolean;
  topic_held: boolean;
}

/** Deletes the website (its domains go with it), under its row lock. */
export function deleteWebsiteStatement(websiteId: number, events: EventParts): Prisma.Sql {
  const log = eventCtes(events, 'target');
  return Prisma.sql`
    WITH target AS (
      SELECT id FROM websites WHERE id = ${websiteId} FOR UPDATE
    ), ${log.lock}, gone AS (
      DELETE FROM websites WHERE id = (SELECT id FROM target) AND ${HELD} RETURNING id
    ), event_payload AS (
      SELECT jsonb_build_object('website_id', id) AS payload FROM gone
    )${log.append}
    SELECT EXISTS (SELECT 1 FROM target) AS found, ${HELD} AS topic_held, ${log.event}`;
}

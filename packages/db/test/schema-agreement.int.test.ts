import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_TABLE } from '../src/index.ts';
import { migratedTestDatabase } from '../src/testing.ts';
import { factsFromDatabase, factsFromPrisma, readDmmf, SCHEMA_PATH } from './schema-facts.ts';

/** What the migrations add that schema.prisma cannot express; each is asserted to exist, not just ignored. */
const SQL_ONLY = {
  indexes: ['website_domains_one_primary_idx'],
  checks: [
    'line_groups_name_not_blank',
    'line_groups_cname_lower',
    'website_domains_domain_lower',
    'ws_events_id_positive',
    'ws_events_payload_object',
    'ws_log_meta_purged_le_last',
  ],
  triggers: ['website_domains_one_primary', 'websites_one_primary'],
};
const IGNORE = { ignoreTables: [MIGRATIONS_TABLE], ignoreIndexes: SQL_ONLY.indexes };

describe('migrations and schema.prisma', () => {
  let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
  beforeAll(async () => {
    database = await migratedTestDatabase('tideline_db_schema');
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  it('schema - the migrated database has exactly the tables, columns, keys, indexes and enums of schema.prisma', async () => {
    const expected = factsFromPrisma();
    const actual = await factsFromDatabase(database.url, IGNORE);
    expect(expected.tables.length).toBe(6);
    expect(actual.tables).toEqual(expected.tables);
    expect(actual.columns).toEqual(expected.columns);
    expect(actual.indexes).toEqual(expected.indexes);
    expect(actual.foreignKeys).toEqual(expected.foreignKeys);
    expect(actual.enums).toEqual(expected.enums);
    expect(actual.indexes).toContain('primary key ws_events_pkey on ws_events(topic, id)');
  });

  it('schema - the comparison notices a drifted column, a missing index and a renamed enum value', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('ALTER TABLE websites ALTER COLUMN https_enabled DROP NOT NULL');
      await client.query('DROP INDEX websites_line_group_id_idx');
      await client.query(`ALTER TYPE website_status RENAME VALUE 'paused' TO 'halted'`);
      const expected = factsFromPrisma();
      const actual = await factsFromDatabase(database.url, IGNORE);
      expect(actual.columns).not.toEqual(expected.columns);
      expect(actual.columns).toContain('column websites.https_enabled boolean null default false');
      expect(expected.indexes.filter((i) => !actual.indexes.includes(i))).toEqual([
        'index websites_line_group_id_idx on websites(line_group_id)',
      ]);
      expect(actual.enums).toContain('enum website_status (active, halted, deleting)');
    } finally {
      await client.query('ALTER TABLE websites ALTER COLUMN https_enabled SET NOT NULL');
      await client.query('CREATE INDEX IF NOT EXISTS websites_line_group_id_idx ON websites (line_group_id)');
      await client.query(`ALTER TYPE website_status RENAME VALUE 'halted' TO 'paused'`);
      await client.end();
    }
    expect(await factsFromDatabase(database.url, IGNORE)).toEqual(factsFromPrisma());
  });

  it('schema - what Prisma cannot express exists in the migrated database', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const checks = await client.query<{
        conname: string;
      }>(`SELECT c.conname::text FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
          JOIN pg_namespace s ON s.oid = t.relnamespace WHERE c.contype = 'c' AND s.nspname = 'public'`);
      expect(checks.rows.map((r) => r.conname).sort()).toEqual([...SQL_ONLY.checks].sort());
      const triggers = await client.query<{ tgname: string; deferred: boolean }>(
        `SELECT tgname::text, tginitdeferred AS deferred FROM pg_trigger WHERE NOT tgisinternal`,
      );
      expect(triggers.rows.map((r) => r.tgname).sort()).toEqual([...SQL_ONLY.triggers].sort());
      expect(triggers.rows.every((r) => r.deferred)).toBe(true);
      const partial = await client.query<{ def: string }>(
        `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indexrelid = 'website_domains_one_primary_idx'::regclass`,
      );
      expect(partial.rows[0]?.def).toMatch(/UNIQUE INDEX .* \(website_id\) WHERE is_primary/);
    } finally {
      await client.end();
    }
  });

  it('client - the generated Prisma client was generated from the current schema.prisma', () => {
    const generated = readFileSync(
      fileURLToPath(new URL('../src/generated/prisma/internal/class.ts', import.meta.url)),
      'utf8',
    );
    const match = /"inlineSchema": ("(?:[^"\\]|\\.)*")/.exec(generated);
    expect(match, 'generated client has an inline schema').not.toBeNull();
    expect(JSON.parse(match![1]!)).toBe(readFileSync(SCHEMA_PATH, 'utf8'));
    expect(
      readDmmf()
        .datamodel.models.map((m) => m.name)
        .sort(),
    ).toEqual(['LineGroup', 'Website', 'WebsiteDomain', 'WsEvent', 'WsLogMeta', 'WsRelayState']);
  });
});

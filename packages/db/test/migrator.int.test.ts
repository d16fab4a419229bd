import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDatabase } from '@tideline/test-support';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_TABLE, MigrationError, migrate, readMigrations } from '../src/index.ts';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(): Promise<TestDatabase> {
  const db = await TestDatabase.create('tideline_db_migrate');
  cleanups.push(() => db[Symbol.asyncDispose]());
  return db;
}

function directory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tideline-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('migrator', () => {
  it('migrate - applies every file once, in name order, and a second run applies nothing', async () => {
    const db = await database();
    const files = readMigrations();
    expect(files.length).toBeGreaterThan(0);
    expect(await migrate({ url: db.url })).toEqual(files.map((f) => f.name));
    expect(await migrate({ url: db.url })).toEqual([]);
    const rows = await query<{ name: string }>(db.url, `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`);
    expect(rows.map((r) => r.name)).toEqual(files.map((f) => f.name));
  });

  it('migrate - concurrent migrators apply each file exactly once (advisory lock)', async () => {
    const db = await database();
    // Slow first file, so the migrators really overlap.
    const dir = directory({
      '0001_slow.sql': 'SELECT pg_sleep(0.3); CREATE TABLE a (id int);',
      '0002_next.sql': 'CREATE TABLE b (id int);',
    });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => migrate({ url: db.url, directory: dir })),
    );
    expect(results.flat().sort()).toEqual(['0001_slow.sql', '0002_next.sql']);
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
  });

  it('migrate - a failing file is rolled back whole and not recorded; earlier files stay applied', async () => {
    const db = await database();
    const dir = directory({
      '0001_good.sql': 'CREATE TABLE good (id int);',
      '0002_bad.sql': 'CREATE TABLE half (id int); INSERT INTO good VALUES (1); SELECT no_such_function();',
      '0003_after.sql': 'CREATE TABLE after_bad (id int);',
    });
    await expect(migrate({ url: db.url, directory: dir })).rejects.toThrow(
      /0002_bad\.sql failed and was rolled back/,
    );
    const tables = await query<{ table_name: string }>(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(['good', MIGRATIONS_TABLE]);
    expect(await query(db.url, 'SELECT * FROM good')).toEqual([]);
    const recorded = await query<{ name: string }>(db.url, `SELECT name FROM ${MIGRATIONS_TABLE}`);
    expect(recorded.map((r) => r.name)).toEqual(['0001_good.sql']);
  });

  it('migrate - refuses a file changed after it was applied', async () => {
    const db = await database();
    const dir = directory({ '0001_one.sql': 'CREATE TABLE one (id int);' });
    await migrate({ url: db.url, directory: dir });
    writeFileSync(join(dir, '0001_one.sql'), 'CREATE TABLE one (id bigint);');
    const failure = migrate({ url: db.url, directory: dir });
    await expect(failure).rejects.toBeInstanceOf(MigrationError);
    await expect(failure).rejects.toThrow(/changed after it was applied/);
  });

  it('migrate - refuses misnamed files', () => {
    const dir = directory({ 'one.sql': 'SELECT 1;' });
    expect(() => readMigrations(dir)).toThrow(/NNNN_lower_snake\.sql/);
  });

  it('migrate - creates a missing database when asked', async () => {
    const db = await database();
    const url = new URL(db.url);
    url.pathname = `/${db.name}_created`;
    cleanups.push(async () => {
      const admin = new URL(db.url);
      admin.pathname = '/postgres';
      await query(admin.toString(), `DROP DATABASE IF EXISTS ${db.name}_created WITH (FORCE)`);
    });
    const applied = await migrate({ url: url.toString(), createDatabase: true });
    expect(applied).toEqual(readMigrations().map((f) => f.name));
  });
});

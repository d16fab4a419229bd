import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The SQL migrations of this package, `NNNN_name.sql`, applied in name order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** Table recording which migration files were applied, with their checksums. */
export const MIGRATIONS_TABLE = 'tideline_migrations';

/** Session advisory lock held while migrating, so two processes never migrate at once. */
const MIGRATION_LOCK = { classId: 0x7d1d, objectId: 1 } as const;

const FILE_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;

export interface MigrateOptions {
  url: string;
  directory?: string;
  connectTimeoutMs?: number;
  /** Create the database first when it does not exist (needs rights to CREATE DATABASE). */
  createDatabase?: boolean;
  log?: (message: string) => void;
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** A migration file failed, changed after it was applied, or is misnamed. Nothing of the failing file was applied. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export function readMigrations(directory = MIGRATIONS_DIR): MigrationFile[] {
  const names = readdirSync(directory).filter((name) => name.endsWith('.sql'));
  for (const name of names) {
    if (!FILE_NAME.test(name))
      throw new MigrationError(`${name}: migration files are named NNNN_lower_snake.sql`);
  }
  return names.sort().map((name) => {
    const sql = readFileSync(join(directory, name), 'utf8');
    return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/**
 * Brings the database up to date: applies every migration file not yet recorded, in name order,
 * each in one transaction together with its record (a failing file changes nothing and stops the
 * run). Concurrent callers wait on an advisory lock, so each file is applied exactly once.
 * A recorded file whose content changed is refused. Returns the names applied by this call.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const files = readMigrations(options.directory);
  const log = options.log ?? (() => {});
  if (options.createDatabase && (await createDatabaseIfMissing(options)))
    log(`created database ${databaseName(options.url)}`);
  const client = new pg.Client({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'tideline-migrate',
  });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [MIGRATION_LOCK.classId, MIGRATION_LOCK.objectId]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
           name       text        PRIMARY KEY,
           checksum   text        NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ name: string; checksum: string }>(
        `SELECT name, checksum FROM ${MIGRATIONS_TABLE}`,
      );
      const applied = new Map(rows.map((row) => [row.name, row.checksum]));
      const done: string[] = [];
      for (const file of files) {
        const checksum = applied.get(file.name);
        if (checksum !== undefined) {
          if (checksum !== file.checksum) {
            throw new MigrationError(
              `${file.name} was changed after it was applied; add a new migration instead`,
            );
          }
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(file.sql);
          await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [
            file.name,
            file.checksum,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new MigrationError(`${file.name} failed and was rolled back: ${(error as Error).message}`, {
            cause: error,
          });
        }
        log(`applied ${file.name}`);
        done.push(file.name);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [
        MIGRATION_LOCK.classId,
        MIGRATION_LOCK.objectId,
      ]);
    }
  } finally {
    await client.end();
  }
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Creates the database named by `url` when it is missing; true when it was created. */
async function createDatabaseIfMissing(options: MigrateOptions): Promise<boolean> {
  const name = databaseName(options.url);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new MigrationError(`database name ${JSON.stringify(name)} is not a plain identifier`);
  const maintenance = new URL(options.url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({
    connectionString: maintenance.toString(),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } catch (error) {
      // Another process created it in the meantime.
      if ((error as { code?: string }).code === '42P04') return false;
      throw error;
    }
    return true;
  } finally {
    await client.end();
  }
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const ADMIN_DATABASE_URL =
  process.env['TIDELINE_TEST_DATABASE_ADMIN_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A database of its own for one test file, dropped (with its connections) on dispose. */
export class TestDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  static async create(prefix = 'tideline_test'): Promise<TestDatabase> {
    const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${name}`;
    return new TestDatabase(name, url.toString());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}

import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';
import { type RawStatements, rawStatements } from './statements.ts';
import { traceStatements } from './tracing.ts';

export interface DatabaseOptions {
  url: string;
  /** Statements running longer are cancelled by the server. */
  statementTimeoutMs: number;
  /** Opening a connection gives up after this. */
  connectTimeoutMs: number;
  /** Most connections kept open. */
  poolMax: number;
  /** Default bounds of interactive transactions. */
  transactionTimeoutMs: number;
  transactionMaxWaitMs: number;
  /** Name shown in `pg_stat_activity`. */
  applicationName?: string;
  /** Told about errors of idle pooled connections (a server restart, a cut network), which are otherwise harmless. */
  onIdleError?: (error: Error) => void;
}

/** Statement names remembered per SQL text (far more than the statements the code has); beyond, they start over. */
const STATEMENT_NAMES_REMEMBERED = 10_000;

/** A Prisma client over a pg pool of our own; `close()` ends both. */
export interface Database {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  /** Hand-written SQL the client's own way, without its query machinery (see {@link RawStatements}). */
  readonly statements: RawStatements;
  /** True when a trivial query answers within the statement timeout. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens the websites database: Prisma Client 7 with the `pg` driver adapter (no engine binary).
 * Every connection carries the statement timeout; connecting is bounded by the connect timeout.
 */
export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName ?? 'tideline',
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  traceStatements(pool, new URL(options.url).pathname.slice(1) || 'postgres');
  // Named statements are parsed and planned once per connection, then reused (same SQL, same name).
  // Names are remembered per SQL text, so a statement's text is hashed once, not on every query.
  const names = new Map<string, string>();
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: false,
    statementNameGenerator: (query) => {
      let name = names.get(query.sql);
      if (name === undefined) {
        name = `tl_${createHash('sha1').update(query.sql).digest('base64url')}`;
        if (names.size >= STATEMENT_NAMES_REMEMBERED) names.clear();
        names.set(query.sql, name);
      }
      return name;
    },
  });
  const prisma = new PrismaClient({
    adapter,
    transactionOptions: { timeout: options.transactionTimeoutMs, maxWait: options.transactionMaxWaitMs },
  });
  let closed: Promise<void> | undefined;
  return {
    prisma,
    pool,
    statements: rawStatements(() => adapter.connect()),
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closed ??= (async () => {
        await prisma.$disconnect();
        await pool.end();
      })();
      return closed;
    },
  };
}

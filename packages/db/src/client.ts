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

/**
 * Connections of the pipelined transactions, beside the pool: website-api runs one group-commit
 * turn at a time, so one suffices (more calls at once wait for it).
 */
const PIPELINE_CONNECTIONS = 1;

/** Statement names remembered per SQL text (far more than the statements the code has); beyond, they start over. */
const STATEMENT_NAMES_REMEMBERED = 10_000;

/** A Prisma client over a pg pool of our own; `close()` ends both. */
export interface Database {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  /** Hand-written SQL without the client's query machinery, and pipelined transactions (see {@link RawStatements}). */
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
  const database = new URL(options.url).pathname.slice(1) || 'postgres';
  const openPool = (config: { max: number; pipeline?: boolean }) => {
    const opened = new pg.Pool({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      application_name: options.applicationName ?? 'tideline',
      ...config,
    });
    opened.on('error', (error) => options.onIdleError?.(error));
    traceStatements(opened, database);
    return opened;
  };
  const pool = openPool({ max: options.poolMax });
  // The connection of the pipelined transactions (`statements.pipeline`), opened on first use.
  let pipelinePool: pg.Pool | undefined;
  // Named statements are parsed and planned once per connection, then reused (same SQL, same name).
  // Names are remembered per SQL text, so a statement's text is hashed once, not on every query.
  const names = new Map<string, string>();
  const statementName = (sql: string) => {
    let name = names.get(sql);
    if (name === undefined) {
      name = `tl_${createHash('sha1').update(sql).digest('base64url')}`;
      if (names.size >= STATEMENT_NAMES_REMEMBERED) names.clear();
      names.set(sql, name);
    }
    return name;
  };
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: false,
    statementNameGenerator: (query) => statementName(query.sql),
  });
  const prisma = new PrismaClient({
    adapter,
    transactionOptions: { timeout: options.transactionTimeoutMs, maxWait: options.transactionMaxWaitMs },
  });
  let closed: Promise<void> | undefined;
  return {
    prisma,
    pool,
    statements: rawStatements(() => adapter.connect(), {
      pool: () => {
        pipelinePool ??= openPool({ max: PIPELINE_CONNECTIONS, pipeline: true });
        return pipelinePool;
      },
      statementName,
    }),
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
        await pipelinePool?.end();
      })();
      return closed;
    },
  };
}

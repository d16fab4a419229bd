import type { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Prisma } from './generated/prisma/client.ts';

type DriverAdapter = Awaited<ReturnType<PrismaPg['connect']>>;
type Queryable = Pick<DriverAdapter, 'queryRaw' | 'executeRaw'>;
type ArgType = Parameters<DriverAdapter['queryRaw']>[0]['argTypes'][number];

/** Runs hand-written SQL and answers its rows, as objects keyed by column name. */
export interface StatementRunner {
  query<R>(sql: Prisma.Sql): Promise<R[]>;
}

/**
 * Hand-written SQL (`Prisma.sql`) without Prisma Client's query machinery. `query` and
 * `transaction` go straight to Prisma's `pg` driver adapter — the layer Prisma Client sends
 * `$queryRaw` through — on the client's own pool, with its statement names and its error kinds (a
 * failure is a `DriverAdapterError` whose `cause` names the kind and the SQLSTATE); `pipeline`
 * goes out on node-postgres' pipeline mode (see there).
 *
 * What it skips is Prisma Client's query machinery, which a raw statement does not use: the
 * parameters serialised to JSON and back, the request and transaction bookkeeping, the result
 * re-typed through the engine's tags. For a website change statement that machinery cost more
 * Node CPU than the driver itself (measured in apps/website-api/README.md, Performance), so the
 * statements a write waits for take this path; everything else stays on Prisma Client.
 *
 * Rows are typed as `$queryRaw` types them: `bigint` for int8, parsed JSON for json/jsonb, `Date`
 * for timestamps; other columns as `pg` parses them.
 */
export interface RawStatements extends StatementRunner {
  /**
   * Runs `work` in one transaction on one connection: committed when `work` resolves, rolled back
   * (and the error passed on) when it throws or the commit fails.
   */
  transaction<T>(work: (tx: StatementRunner) => Promise<T>): Promise<T>;
  /**
   * Runs `statements` in order as one transaction in one round trip: `BEGIN`, each statement and
   * `COMMIT` go out pipelined (node-postgres' pipeline mode, on a connection of its own, outside
   * the driver adapter, which has no pipelining) and PostgreSQL runs them one after the other,
   * each seeing the ones before. Answers the rows of each, typed as {@link query} types them.
   * When the database refuses one (or the commit), nothing of them is written and the first
   * refusal is thrown (a `pg` error carrying its SQLSTATE as `code`); a connection lost on the way
   * rejects with its own error, the commit's outcome unknown.
   */
  pipeline<R>(statements: Prisma.Sql[]): Promise<R[][]>;
}

const NO_ARGS = { args: [], argTypes: [] };
const COLUMN_INT64 = 1;
const COLUMN_DATETIME = 10;
const COLUMN_JSON = 11;

/** The argument type Prisma Client gives a raw parameter (it only steers dates and bytes). */
function argType(value: unknown): ArgType {
  const element = Array.isArray(value) ? value[0] : value;
  const scalarType =
    element instanceof Date
      ? 'datetime'
      : element instanceof Uint8Array
        ? 'bytes'
        : typeof element === 'bigint'
          ? 'bigint'
          : typeof element === 'string'
            ? 'string'
            : 'unknown';
  return { scalarType, arity: Array.isArray(value) ? 'list' : 'scalar' } as ArgType;
}

function typed(value: unknown, columnType: number): unknown {
  if (value === null) return null;
  switch (columnType) {
    case COLUMN_INT64:
      return BigInt(value as string | number);
    case COLUMN_JSON:
      return typeof value === 'string' ? JSON.parse(value) : value;
    case COLUMN_DATETIME:
      return new Date(value as string);
    default:
      return value;
  }
}

async function run<R>(queryable: Queryable, sql: Prisma.Sql): Promise<R[]> {
  const values = sql.values;
  const result = await queryable.queryRaw({
    sql: sql.text,
    args: values as never,
    argTypes: values.map(argType),
  });
  const { columnNames, columnTypes } = result;
  return result.rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < columnNames.length; i++) record[columnNames[i]!] = typed(row[i], columnTypes[i]!);
    return record as R;
  });
}

const INT8_OID = 20;
/** `pg`'s parsers, but int8 as `bigint` (as the adapter path and `$queryRaw` answer it). */
const PIPELINE_TYPES = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format),
} as pg.CustomTypesConfig;

/** Where {@link RawStatements.pipeline} runs: a `pg` pool of pipeline-mode connections, and the statement names. */
export interface PipelineOptions {
  pool: () => pg.Pool;
  statementName: (sql: string) => string;
}

/** Runs `statements` as one pipelined transaction on a connection of `options.pool` (see {@link RawStatements.pipeline}). */
async function pipelined<R>(options: PipelineOptions, statements: Prisma.Sql[]): Promise<R[][]> {
  const client = await options.pool().connect();
  // Checked out, a client emits its connection's failure as an 'error' event (the pool listens only
  // while it is idle), and one without a listener would end the process. The failure reaches
  // every query of the pipeline anyway: here it only needs to be heard.
  const heard = () => {};
  client.on('error', heard);
  const sent = [
    client.query('BEGIN'),
    ...statements.map((sql) =>
      client.query<Record<string, unknown>>({
        name: options.statementName(sql.text),
        text: sql.text,
        values: sql.values as unknown[],
        types: PIPELINE_TYPES,
      }),
    ),
    client.query('COMMIT'),
  ];
  // Every answer is awaited before the connection goes back: a refused statement aborts the
  // transaction, the ones after it are refused too, and COMMIT then rolls back (answering ROLLBACK).
  const answers = await Promise.allSettled(sent);
  const failed = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
  // A refusal leaves the connection usable; anything else (a lost connection) retires it, still
  // heard should it report more on its way out.
  const lost = failed !== undefined && !(failed.reason instanceof pg.DatabaseError);
  if (!lost) client.removeListener('error', heard);
  client.release(lost ? (failed.reason as Error) : undefined);
  if (failed) throw failed.reason;
  const commit = answers.at(-1) as PromiseFulfilledResult<pg.QueryResult>;
  if (commit.value.command !== 'COMMIT')
    throw new Error(`a pipelined transaction ended with ${commit.value.command}, not COMMIT`);
  return answers
    .slice(1, -1)
    .map(
      (answer) =>
        (answer as PromiseFulfilledResult<pg.QueryResult<Record<string, unknown>>>).value.rows as R[],
    );
}

/**
 * {@link RawStatements} over the driver adapter `connect` opens (once, on first use); pipelines on
 * the pipeline-mode pool of `pipeline`.
 */
export function rawStatements(
  connect: () => Promise<DriverAdapter>,
  pipeline: PipelineOptions,
): RawStatements {
  let adapter: Promise<DriverAdapter> | undefined;
  const connected = () => {
    adapter ??= connect().catch((error: unknown) => {
      adapter = undefined;
      throw error;
    });
    return adapter;
  };
  return {
    async query<R>(sql: Prisma.Sql) {
      return run<R>(await connected(), sql);
    },
    pipeline<R>(statements: Prisma.Sql[]) {
      return pipelined<R>(pipeline, statements);
    },
    async transaction<T>(work: (tx: StatementRunner) => Promise<T>): Promise<T> {
      // BEGIN is sent by startTransaction; COMMIT and ROLLBACK here, then the connection goes back
      // to the pool (the transaction's commit/rollback only release it), as Prisma Client does.
      const tx = await (await connected()).startTransaction();
      let result: T;
      try {
        result = await work({ query: (sql) => run(tx, sql) });
      } catch (error) {
        try {
          await tx.executeRaw({ sql: 'ROLLBACK', ...NO_ARGS });
        } catch {
          // the connection failed: the server rolls the transaction back as it drops it
        } finally {
          await tx.rollback();
        }
        throw error;
      }
      try {
        await tx.executeRaw({ sql: 'COMMIT', ...NO_ARGS });
      } catch (error) {
        await tx.rollback();
        throw error;
      }
      await tx.commit();
      return result;
    },
  };
}

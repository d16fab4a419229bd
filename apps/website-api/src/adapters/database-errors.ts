import { Prisma } from '@tideline/db';
import { conflict, unavailable, WebsiteApiError } from '../domain/errors.ts';

/** SQLSTATE classes and codes meaning "the database could not do it now", not "the request is wrong". */
const UNAVAILABLE_SQLSTATES = [/^08/, /^57P0[1-3]$/, /^57014$/, /^53/, /^55P03$/, /^40001$/, /^40P01$/];
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034']);
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
  'TransactionWriteConflict',
]);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Transaction already closed/i,
  /Unable to start a transaction in the given time/i,
  /Client was closed/i,
];

interface AdapterCause {
  kind?: string;
  code?: string;
  originalCode?: string;
  constraint?: { index?: string; fields?: string[] };
}

function adapterCause(error: unknown): AdapterCause | undefined {
  const meta = (error as { meta?: { driverAdapterError?: { cause?: AdapterCause } } }).meta;
  return meta?.driverAdapterError?.cause ?? (error as { cause?: AdapterCause }).cause;
}

function looksUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_PRISMA_CODES.has(e.code) || UNAVAILABLE_NODE_CODES.has(e.code)) return true;
    if (UNAVAILABLE_SQLSTATES.some((pattern) => pattern.test(e.code as string))) return true;
  }
  const cause = adapterCause(error);
  if (cause) {
    if (cause.kind && UNAVAILABLE_ADAPTER_KINDS.has(cause.kind)) return true;
    const sqlstate = cause.originalCode ?? cause.code;
    if (sqlstate && UNAVAILABLE_SQLSTATES.some((pattern) => pattern.test(sqlstate))) return true;
  }
  if (
    error instanceof Prisma.PrismaClientInitializationError ||
    error instanceof Prisma.PrismaClientRustPanicError
  )
    return true;
  if (
    typeof e.message === 'string' &&
    UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(e.message as string))
  )
    return true;
  return looksUnavailable(e.cause, depth + 1);
}

/**
 * The protocol error a database failure answers with: a unique violation is a CONFLICT (a race
 * the store's own checks lost), a lost/refused/timed-out connection is UNAVAILABLE. Anything else
 * is returned as is (an INTERNAL error). In every case the transaction was rolled back.
 */
export function translateDatabaseError(error: unknown): unknown {
  if (error instanceof WebsiteApiError) return error;
  // P2002 from the query builder; a raw statement's unique violation comes with its cause: as
  // P2010 through Prisma Client, as the driver adapter's own error through `Database.statements`.
  if (
    (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') ||
    adapterCause(error)?.kind === 'UniqueConstraintViolation'
  ) {
    const index = adapterCause(error)?.constraint?.index ?? 'a unique index';
    const field = index.includes('domain') ? 'domains' : index.includes('name') ? 'name' : '';
    return conflict(`the value is already taken (${index})`, [{ path: field, message: 'is already taken' }]);
  }
  if (looksUnavailable(error)) return unavailable(error);
  return error;
}

/** A SQLSTATE: five digits or capital letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The database itself reported the error (it carries a SQLSTATE outside class 08, connection
 * exception): the statement failed and its transaction was rolled back, so nothing of it was
 * written. False when the connection failed or was lost, where a commit's outcome is unknown.
 */
export function reportedByDatabase(error: unknown): boolean {
  const cause = adapterCause(error);
  const candidates = [cause?.originalCode, cause?.code, (error as { code?: unknown } | undefined)?.code];
  const sqlstate = candidates.find((code): code is string => typeof code === 'string' && SQLSTATE.test(code));
  return sqlstate !== undefined && !sqlstate.startsWith('08');
}

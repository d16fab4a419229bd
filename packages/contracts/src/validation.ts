import type { z } from 'zod';
import { TidelineError } from './errors.ts';

export interface FieldIssue {
  /** Dotted path of the offending field, `""` for the value as a whole. */
  path: string;
  message: string;
}

/** A value did not match its contract (`VALIDATION_FAILED`). The message names every offending field. */
export class ContractError extends TidelineError {
  override readonly name = 'ContractError';
  override readonly fields: FieldIssue[];
  constructor(
    readonly what: string,
    fields: FieldIssue[],
  ) {
    super(
      'VALIDATION_FAILED',
      `invalid ${what}: ${fields.map((f) => `${f.path || '(root)'}: ${f.message}`).join('; ')}`,
    );
    this.fields = fields;
  }
}

/** The longest part of a sent value quoted back in a message. */
const QUOTED_MAX_LENGTH = 64;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * What a caller understands of an issue: a number coerced from text (a path or query parameter)
 * that was not one is zod's "expected number, received NaN" — say what was sent instead, and for
 * a parameter given more than once (`?page=1&page=2` arrives as a list) say that.
 */
function messageOf(issue: z.ZodError['issues'][number], input: unknown): string {
  if (issue.code !== 'invalid_type' || (issue as { received?: unknown }).received !== 'NaN')
    return issue.message;
  const sent = valueAt(input, issue.path);
  if (Array.isArray(sent)) return 'given more than once';
  if (typeof sent !== 'string') return issue.message;
  const quoted = JSON.stringify(
    sent.length > QUOTED_MAX_LENGTH ? `${sent.slice(0, QUOTED_MAX_LENGTH)}…` : sent,
  );
  return `expected ${issue.expected === 'number' ? 'a number' : issue.expected}, got ${quoted}`;
}

/** The issues of a failed parse; given the parsed `input`, messages quote what was sent where zod cannot. */
export function issuesOf(error: z.ZodError, input?: unknown): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: messageOf(issue, input),
  }));
}

/** Parses `input` with `schema`, throwing a {@link ContractError} that names every bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what = 'value'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ContractError(what, issuesOf(result.error, input));
  return result.data;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ContractError };

/** Like {@link parse} but returns the error instead of throwing, for hot paths. */
export function safeParse<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what = 'value',
): ParseResult<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, error: new ContractError(what, issuesOf(result.error, input)) };
}

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

export function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/** Parses `input` with `schema`, throwing a {@link ContractError} that names every bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what = 'value'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ContractError(what, issuesOf(result.error));
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
    : { ok: false, error: new ContractError(what, issuesOf(result.error)) };
}

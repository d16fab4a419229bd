import { type FieldIssue, TidelineError } from '@tideline/contracts';

/**
 * A request that cannot be carried out, with the protocol error code it answers with. Thrown by
 * the domain and the store; nothing was changed when one is thrown.
 */
export class WebsiteApiError extends TidelineError {
  override readonly name: string = 'WebsiteApiError';
}

export const notFound = (what: string) => new WebsiteApiError('NOT_FOUND', `${what} does not exist`);

export const invalid = (message: string, fields: FieldIssue[]) =>
  new WebsiteApiError('VALIDATION_FAILED', message, { fields });

export const conflict = (message: string, fields: FieldIssue[]) =>
  new WebsiteApiError('CONFLICT', message, { fields });

export const unavailable = (cause: unknown) =>
  new WebsiteApiError('UNAVAILABLE', 'the database is unavailable; nothing was changed', { cause });

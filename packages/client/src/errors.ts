/**
 * An error the SDK reports: a server error code (UNAUTHORIZED, FORBIDDEN, NOT_FOUND, …) or one
 * of the SDK's own — `CLOSED` (the client or collection was closed), `REMOVED` (the cluster was
 * unregistered), `TIMEOUT` (no acknowledgement in time).
 */
export class TidelineClientError extends Error {
  override readonly name = 'TidelineClientError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The `code` of a thrown value, when it carries one (a TidelineError, a TidelineClientError, …). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

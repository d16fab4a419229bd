/**
 * A fixed, safe description of an error of the Kubernetes client or of a kubeconfig load: its
 * class, HTTP status and errno code, never its message. Messages can carry what must not leave
 * the process: an exec plugin's stderr, a file's content quoted by a parser, an API server's
 * answer body and headers.
 */
export function describeKubeError(error: unknown): string {
  if (error === null || typeof error !== 'object') return 'error';
  const name = safeName(error);
  const status = httpStatus(error);
  const code = errnoCode(error);
  const parts = [status !== undefined ? `HTTP ${status}` : undefined, code].filter(Boolean);
  return parts.length > 0 ? `${name} (${parts.join(', ')})` : name;
}

/** The errno-like code of an error or of its causes (ECONNREFUSED, ENOENT, UND_ERR_…), if any. */
export function errnoCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function safeName(error: object): string {
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? name : 'Error';
}

function httpStatus(error: object): number | undefined {
  for (const key of ['statusCode', 'code'] as const) {
    const value = (error as Record<string, unknown>)[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) return value;
  }
  return undefined;
}

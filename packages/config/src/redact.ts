/**
 * Redaction of credentials in text that leaves the process: configuration errors, log lines and
 * metric labels. What is redacted is replaced by {@link REDACTED}; nothing else changes, so a
 * redacted line still names the host, the variable or the field that went wrong.
 */

/** What stands where a credential was. */
export const REDACTED = '***';

/**
 * Query parameters whose value is a credential (`?password=…`, `&token=…`); matched
 * case-insensitively, also with `_`/`-` prefixes such as `access_token` or `x-api-key`.
 */
const SECRET_PARAM = String.raw`[A-Za-z0-9_-]*(?:password|passwd|pass|pwd|token|secret|api[_-]?key|apikey|auth|credentials?|sig|signature)`;

/**
 * `scheme://userinfo@`: everything from `//` to the last `@` of the same word, not reaching into
 * the next URL (`,nats://…`), is the userinfo.
 */
const URL_USERINFO = /(\/\/)(?:(?!\/\/)[^\s"'<>`])*@/g;
/** `?password=…` / `&token=…` up to the next separator. */
const QUERY_SECRET = new RegExp(String.raw`([?&;]${SECRET_PARAM}=)[^&;#\s"'<>]*`, 'gi');
/** `Authorization: Bearer …`, `Basic …` credentials quoted in a message. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
/** A JSON Web Token (three base64url parts, the first a JSON header). */
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
/** A PEM private key block. */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;

/**
 * Redacts credentials anywhere in free text: the userinfo of URLs (`redis://:pw@host` →
 * `redis://***@host`, also when the URL is malformed, e.g. `redis//:pw@host`), credential query
 * parameters, bearer/basic credentials, JWTs and PEM private keys.
 */
export function redactCredentials(text: string): string {
  if (text.length === 0) return text;
  return text
    .replace(PEM_PRIVATE_KEY, REDACTED)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED);
}

/**
 * Redacts a value that was meant to be a URL, however malformed: everything between `//` (or the
 * start, when there is none before it) and the last `@` is taken for credentials, then
 * {@link redactCredentials} applies. `redis//:hunter2@h` → `redis//***@h`; `:hunter2@h` → `***@h`.
 */
export function redactUrl(value: string): string {
  const at = value.lastIndexOf('@');
  let out = value;
  if (at >= 0) {
    const slashes = value.indexOf('//');
    const start = slashes >= 0 && slashes < at ? slashes + 2 : 0;
    out = `${value.slice(0, start)}${REDACTED}${value.slice(at)}`;
  }
  return redactCredentials(out);
}

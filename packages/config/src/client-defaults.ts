/**
 * Defaults of the client SDK (packages/client). The SDK runs in browsers, where no `TIDELINE_*`
 * environment exists, so each of these is set per connection through its `ConnectOptions`; they
 * live here, beside the services' settings, with their units. Plain values, no zod: the SDK bundles
 * this module into its published JavaScript, which must import nothing else (its package test
 * checks the built imports). Exported as this package's `client-defaults` subpath, not from its
 * index, whose loader reads files.
 */
export const CLIENT_DEFAULTS = {
  /** Ask `getToken` and send `auth:refresh` this long before the token expires. */
  refreshBeforeExpiryMs: 30_000,
  /** First reconnect delay and its cap, in milliseconds; doubles per failed attempt, with jitter. */
  reconnectDelayMs: { initial: 250, max: 5_000 },
  /** A request the server has not acknowledged by then fails with TIMEOUT (and is retried with backoff). */
  requestTimeoutMs: 10_000,
  /** A (re)sync refused with RATE_LIMITED is sent again after the server's `retryAfterMs`, this often at most. */
  rateLimitedRetries: 3,
} as const;

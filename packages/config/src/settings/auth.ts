import { z } from 'zod';
import { ConfigError } from '../load.ts';
import { DEVELOPMENT_JWT_SECRET, isPublishedSecret } from '../secrets.ts';
import { list, ms, oneOf, optionalStr, type Setting, seconds, str } from '../setting.ts';

/** Signature algorithms a verifier may be allowed (TIDELINE_JWT_ALGORITHMS). */
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;

/** Token verification (packages/auth), shared by every service that accepts requests. */
export const authSettings = {
  jwtSecret: optionalStr({
    env: 'TIDELINE_JWT_SECRET',
    secret: true,
    doc: 'HS256 shared secret (at least 32 bytes). Outside development/test: never the development key, and not together with TIDELINE_JWT_PUBLIC_KEY or TIDELINE_JWT_JWKS_URL.',
  }),
  jwtPublicKey: optionalStr({
    env: 'TIDELINE_JWT_PUBLIC_KEY',
    doc: 'RS256 (RSA) or ES256 (EC P-256) public key (PEM). When set, only that algorithm is accepted.',
  }),
  jwtJwksUrl: optionalStr({
    env: 'TIDELINE_JWT_JWKS_URL',
    pattern: /^https?:\/\/\S+$/,
    patternRule: 'an http(s) URL',
    doc: "The identity provider's JWKS URL (Keycloak, Auth0, Okta, Dex…): RS256/ES256 keys chosen by the token's `kid`, cached, refetched on an unknown `kid` at most once per TIDELINE_JWT_JWKS_COOLDOWN_MS. https outside development/test.",
  }),
  jwtAlgorithms: list({
    env: 'TIDELINE_JWT_ALGORITHMS',
    default: [],
    item: new RegExp(`^(${JWT_ALGORITHMS.join('|')})$`),
    itemRule: `${JWT_ALGORITHMS.join(', ')}`,
    doc: 'Accepted signature algorithms. Empty: HS256 for a secret, the key type of TIDELINE_JWT_PUBLIC_KEY, RS256 and ES256 for a JWKS URL. HS256 only with a secret; RS256/ES256 only with a public key or JWKS URL.',
  }),
  jwtJwksCooldownMs: ms({
    env: 'TIDELINE_JWT_JWKS_COOLDOWN_MS',
    default: 30_000,
    max: 3_600_000,
    doc: 'Least time between two fetches of the JWKS caused by unknown `kid`s (tokens with an unknown `kid` are refused meanwhile).',
  }),
  jwtJwksCacheMaxAgeMs: ms({
    env: 'TIDELINE_JWT_JWKS_CACHE_MAX_AGE_MS',
    default: 600_000,
    min: 1_000,
    doc: 'How long a fetched JWKS is used before it is fetched again.',
  }),
  jwtJwksTimeoutMs: ms({
    env: 'TIDELINE_JWT_JWKS_TIMEOUT_MS',
    default: 5_000,
    min: 100,
    max: 60_000,
    doc: 'Timeout of one JWKS fetch; an unreachable JWKS refuses tokens with UNAUTHORIZED (and is logged).',
  }),
  jwtScopeClaim: str({
    env: 'TIDELINE_JWT_SCOPE_CLAIM',
    default: 'scope',
    max: 200,
    doc: 'The claim carrying the scopes (`scope`, `scp`, or a custom claim such as `https://example.com/scopes`).',
  }),
  jwtScopeFormat: oneOf({
    env: 'TIDELINE_JWT_SCOPE_FORMAT',
    values: ['auto', 'space-separated', 'array'] as const,
    default: 'auto',
    doc: 'Format of the scope claim: a space-separated string, an array of strings, or `auto` (either).',
  }),
  jwtIssuer: str({ env: 'TIDELINE_JWT_ISSUER', default: 'tideline', doc: 'Required `iss` claim.' }),
  jwtAudience: str({
    env: 'TIDELINE_JWT_AUDIENCE',
    default: 'tideline',
    doc: 'Required `aud` claim of user tokens.',
  }),
  jwtClockToleranceMs: ms({
    env: 'TIDELINE_JWT_CLOCK_TOLERANCE_MS',
    default: 5_000,
    max: 300_000,
    doc: 'Allowed clock skew when checking `exp` and `nbf`.',
  }),
  serviceJwtAudience: str({
    env: 'TIDELINE_SERVICE_JWT_AUDIENCE',
    default: 'tideline-internal',
    doc: 'Required `aud` of service tokens: `/internal/*` accepts only this audience (with scope `internal`), user endpoints refuse it. Must differ from TIDELINE_JWT_AUDIENCE.',
  }),
  serviceJwtSecret: optionalStr({
    env: 'TIDELINE_SERVICE_JWT_SECRET',
    secret: true,
    doc: 'HS256 key (at least 32 bytes) of service tokens, minted and verified apart from user tokens. Unset: service tokens use the user-token key (TIDELINE_JWT_SECRET, or the public key/JWKS for a configured TIDELINE_SERVICE_TOKEN).',
  }),
  serviceToken: optionalStr({
    env: 'TIDELINE_SERVICE_TOKEN',
    secret: true,
    doc: "Bearer token this service presents to other services' `/internal/*` endpoints (audience TIDELINE_SERVICE_JWT_AUDIENCE, scope `internal`). Unset: minted with TIDELINE_SERVICE_JWT_SECRET, else TIDELINE_JWT_SECRET (or the development key).",
  }),
  serviceTokenLifetimeSeconds: seconds({
    env: 'TIDELINE_SERVICE_TOKEN_LIFETIME_SECONDS',
    default: 300,
    min: 10,
    doc: 'Lifetime of minted service tokens; they are renewed at half-life.',
  }),
  jwtDevScopes: list({
    env: 'TIDELINE_JWT_DEV_SCOPES',
    default: ['websites:read', 'websites:write', 'nodes:read'],
    doc: 'Scopes `npm run token` grants when none are given.',
  }),
};

/**
 * The management listener (packages/runtime): when a port is set, `/internal/*` and `/metrics`
 * are served only there and are absent (404) from the public port.
 */
export const managementSettings = {
  managementHost: str({
    env: 'TIDELINE_MANAGEMENT_HOST',
    default: '127.0.0.1',
    doc: 'Interface of the management listener (keep it off the public network).',
  }),
  managementPort: {
    env: 'TIDELINE_MANAGEMENT_PORT',
    default: undefined,
    schema: z.preprocess(
      (v) => (v === '' ? undefined : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
      z.number().int().min(0).max(65_535).optional(),
    ),
    rule: 'a TCP port from 0 to 65535, or unset',
    doc: 'Port of the management listener serving `/internal/*`, `/metrics`, `/healthz` and `/readyz`; the public port then answers 404 for `/internal/*` and `/metrics`. Unset: no management listener, everything on the public port. 0: any free port.',
  } satisfies Setting<number | undefined>,
};

export { DEVELOPMENT_JWT_SECRET };

const MIN_SECRET_BYTES = 32;

type KeySettings = {
  environment: string;
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtJwksUrl?: string | undefined;
  jwtAlgorithms?: readonly string[];
  jwtAudience?: string;
  serviceJwtAudience?: string;
  serviceJwtSecret?: string | undefined;
};

function secretProblem(
  variable: string,
  secret: string | undefined,
  strict: boolean,
): ConfigError | undefined {
  if (secret === undefined) return undefined;
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES)
    return new ConfigError(variable, `at least ${MIN_SECRET_BYTES} bytes`, '(hidden)');
  // The development key, or any other secret published in the repository (../secrets.ts).
  if (strict && isPublishedSecret(secret))
    return new ConfigError(
      variable,
      'a key of your own outside development/test, not the published development key',
      '(hidden)',
    );
  return undefined;
}

/**
 * The key rules every service checks at start (a cross rule of {@link loadConfig}); a refusal is
 * one line and exit 78, never the secret:
 * - a secret (TIDELINE_JWT_SECRET, TIDELINE_SERVICE_JWT_SECRET) has at least 32 bytes;
 * - outside development/test: a key is set, no secret is the development key (nor another value
 *   published in the repository, PUBLISHED_SECRETS), and a secret is
 *   not set together with a public key or JWKS URL (which one would be used?), and a JWKS URL is https;
 * - a public key and a JWKS URL exclude each other; allowed algorithms fit the key kind;
 * - user and service tokens have different audiences.
 */
export function requireJwtKey(config: KeySettings): ConfigError | undefined {
  const strict = config.environment !== 'development' && config.environment !== 'test';
  const problem =
    secretProblem('TIDELINE_JWT_SECRET', config.jwtSecret, strict) ??
    secretProblem('TIDELINE_SERVICE_JWT_SECRET', config.serviceJwtSecret, strict);
  if (problem) return problem;
  const asymmetric = config.jwtPublicKey !== undefined || config.jwtJwksUrl !== undefined;
  if (config.jwtPublicKey !== undefined && config.jwtJwksUrl !== undefined) {
    return new ConfigError(
      'TIDELINE_JWT_PUBLIC_KEY',
      'unset when TIDELINE_JWT_JWKS_URL is set (one source of keys)',
      'both set',
    );
  }
  if (strict && config.jwtJwksUrl?.startsWith('http:')) {
    return new ConfigError(
      'TIDELINE_JWT_JWKS_URL',
      'an https URL outside development/test (keys fetched over plain HTTP can be forged on the way)',
      'an http URL',
    );
  }
  if (strict && config.jwtSecret !== undefined && asymmetric) {
    return new ConfigError(
      'TIDELINE_JWT_SECRET',
      `unset when ${config.jwtJwksUrl !== undefined ? 'TIDELINE_JWT_JWKS_URL' : 'TIDELINE_JWT_PUBLIC_KEY'} is set outside development/test (one kind of user-token key)`,
      'both set',
    );
  }
  if (strict && config.jwtSecret === undefined && !asymmetric) {
    return new ConfigError(
      'TIDELINE_JWT_SECRET',
      `set (or TIDELINE_JWT_PUBLIC_KEY or TIDELINE_JWT_JWKS_URL) when TIDELINE_ENV is ${config.environment}`,
      'nothing: it is required',
    );
  }
  for (const algorithm of config.jwtAlgorithms ?? []) {
    const symmetric = algorithm.startsWith('HS');
    if (symmetric && asymmetric && config.jwtSecret === undefined)
      return new ConfigError(
        'TIDELINE_JWT_ALGORITHMS',
        `free of ${algorithm} without TIDELINE_JWT_SECRET`,
        algorithm,
      );
    if (!symmetric && !asymmetric)
      return new ConfigError(
        'TIDELINE_JWT_ALGORITHMS',
        `free of ${algorithm} without TIDELINE_JWT_PUBLIC_KEY or TIDELINE_JWT_JWKS_URL`,
        algorithm,
      );
  }
  if (config.jwtAudience !== undefined && config.jwtAudience === config.serviceJwtAudience) {
    return new ConfigError(
      'TIDELINE_SERVICE_JWT_AUDIENCE',
      'different from TIDELINE_JWT_AUDIENCE (a user token must never pass as a service token)',
      JSON.stringify(config.serviceJwtAudience),
    );
  }
  return undefined;
}

/**
 * For a service that calls others' `/internal/*` (the push-gateway): it needs a service token, or
 * an HS256 key to mint one, which a public key or JWKS URL alone is not.
 */
export function requireServiceTokenKey(config: {
  jwtSecret: string | undefined;
  serviceJwtSecret?: string | undefined;
  serviceToken?: string | undefined;
  jwtPublicKey: string | undefined;
  jwtJwksUrl?: string | undefined;
}): ConfigError | undefined {
  const mintable = config.serviceJwtSecret !== undefined || config.jwtSecret !== undefined;
  const userKeysOnly = config.jwtPublicKey !== undefined || config.jwtJwksUrl !== undefined;
  if (config.serviceToken === undefined && !mintable && userKeysOnly) {
    return new ConfigError(
      'TIDELINE_SERVICE_JWT_SECRET',
      'set (or TIDELINE_SERVICE_TOKEN) when user tokens are verified with a public key or JWKS: service tokens are minted with it',
      'nothing: it is required',
    );
  }
  return undefined;
}

/** `npm run token` (packages/auth token-cli): development tokens. */
export const devTokenSettings = {
  tokenTtlSeconds: seconds({
    env: 'TIDELINE_DEV_TOKEN_TTL_SECONDS',
    default: 86_400,
    min: 1,
    doc: 'Lifetime of tokens printed by `npm run token`.',
  }),
};

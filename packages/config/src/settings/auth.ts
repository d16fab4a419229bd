import { ConfigError } from '../load.ts';
import { list, ms, optionalStr, seconds, str } from '../setting.ts';

/** Token verification (packages/auth), shared by every service that accepts requests. */
export const authSettings = {
  jwtSecret: optionalStr({
    env: 'TIDELINE_JWT_SECRET',
    secret: true,
    doc: 'HS256 shared secret (at least 32 characters). Either this or TIDELINE_JWT_PUBLIC_KEY outside development.',
  }),
  jwtPublicKey: optionalStr({
    env: 'TIDELINE_JWT_PUBLIC_KEY',
    doc: 'RS256 public key (PEM). When set, only RS256 tokens are accepted.',
  }),
  jwtIssuer: str({ env: 'TIDELINE_JWT_ISSUER', default: 'tideline', doc: 'Required `iss` claim.' }),
  jwtAudience: str({ env: 'TIDELINE_JWT_AUDIENCE', default: 'tideline', doc: 'Required `aud` claim.' }),
  jwtClockToleranceMs: ms({
    env: 'TIDELINE_JWT_CLOCK_TOLERANCE_MS',
    default: 5_000,
    max: 300_000,
    doc: 'Allowed clock skew when checking `exp` and `nbf`.',
  }),
  serviceToken: optionalStr({
    env: 'TIDELINE_SERVICE_TOKEN',
    secret: true,
    doc: "Bearer token this service presents to other services' `/internal/*` endpoints (scope `internal`). Unset: minted from TIDELINE_JWT_SECRET (or the development key).",
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

/** The development key `npm start` and tests use when no key is configured; never valid in production. */
export const DEVELOPMENT_JWT_SECRET = 'tideline-development-secret-do-not-use-in-production';

const MIN_SECRET_LENGTH = 32;

/**
 * Outside development/test a key is required; a configured HS256 secret must be long enough.
 * Services call this as a cross rule of {@link loadConfig}.
 */
export function requireJwtKey(config: {
  environment: string;
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
}): ConfigError | undefined {
  if (config.jwtSecret !== undefined && config.jwtSecret.length < MIN_SECRET_LENGTH) {
    return new ConfigError('TIDELINE_JWT_SECRET', `at least ${MIN_SECRET_LENGTH} characters`, '(hidden)');
  }
  if (
    config.environment === 'production' &&
    config.jwtSecret === undefined &&
    config.jwtPublicKey === undefined
  ) {
    return new ConfigError(
      'TIDELINE_JWT_SECRET',
      'set (or TIDELINE_JWT_PUBLIC_KEY) when TIDELINE_ENV is production',
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

import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { type JwtAlgorithm, type ScopeFormat, TokenVerifier, type VerifierOptions } from './verifier.ts';

/** The auth settings a service reads (packages/config authSettings plus TIDELINE_ENV). */
export interface JwtSettings {
  environment: string;
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtJwksUrl: string | undefined;
  jwtAlgorithms: readonly string[];
  jwtJwksCooldownMs: number;
  jwtJwksCacheMaxAgeMs: number;
  jwtJwksTimeoutMs: number;
  jwtScopeClaim: string;
  jwtScopeFormat: ScopeFormat;
  jwtIssuer: string;
  jwtAudience: string;
  jwtClockToleranceMs: number;
  serviceJwtAudience: string;
  serviceJwtSecret: string | undefined;
}

interface Log {
  warn(message: string): void;
  warn(object: object, message: string): void;
}

/**
 * The HS256 key user tokens are verified with: the configured secret, none when only a public key
 * or JWKS is configured, and the development key only outside production (where `requireJwtKey`
 * already refused to start without a key).
 */
export function jwtSecretOf(
  config: Pick<JwtSettings, 'environment' | 'jwtSecret' | 'jwtPublicKey' | 'jwtJwksUrl'>,
): string | undefined {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.jwtPublicKey || config.jwtJwksUrl) return undefined;
  return config.environment === 'production' ? undefined : DEVELOPMENT_JWT_SECRET;
}

/** The HS256 key service tokens are minted (and verified) with: their own, else the user-token secret. */
export function serviceJwtSecretOf(config: JwtSettings): string | undefined {
  return config.serviceJwtSecret ?? jwtSecretOf(config);
}

function userKeyOptions(config: JwtSettings, logger: Log | undefined): Partial<VerifierOptions> {
  return {
    secret: jwtSecretOf(config),
    publicKey: config.jwtPublicKey,
    jwks: config.jwtJwksUrl
      ? {
          url: config.jwtJwksUrl,
          cooldownMs: config.jwtJwksCooldownMs,
          cacheMaxAgeMs: config.jwtJwksCacheMaxAgeMs,
          timeoutMs: config.jwtJwksTimeoutMs,
          onError: (error) =>
            logger?.warn(
              { err: error, jwksUrl: config.jwtJwksUrl },
              'the JWKS could not be fetched: tokens are refused until it is back',
            ),
        }
      : undefined,
    algorithms: config.jwtAlgorithms as JwtAlgorithm[],
    scopeClaim: config.jwtScopeClaim,
    scopeFormat: config.jwtScopeFormat,
  };
}

/**
 * The verifier of user tokens (every endpoint but `/internal/*`): audience TIDELINE_JWT_AUDIENCE;
 * a token that also names the service audience is refused. Says so in the log when it falls back
 * to the development key.
 */
export function verifierFromConfig(config: JwtSettings, logger?: Log): TokenVerifier {
  if (!config.jwtSecret && !config.jwtPublicKey && !config.jwtJwksUrl) {
    logger?.warn(
      'no TIDELINE_JWT_SECRET, TIDELINE_JWT_PUBLIC_KEY or TIDELINE_JWT_JWKS_URL: accepting tokens signed with the development key',
    );
  }
  return new TokenVerifier({
    ...userKeyOptions(config, logger),
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    refusedAudiences: [config.serviceJwtAudience],
    clockToleranceMs: config.jwtClockToleranceMs,
  });
}

/**
 * The verifier of service tokens, for `/internal/*` only: audience TIDELINE_SERVICE_JWT_AUDIENCE
 * (a token that also names the user audience is refused), signed with TIDELINE_SERVICE_JWT_SECRET
 * when set, else with the user-token key. Pair it with a check of scope `internal`
 * (INTERNAL_SCOPE).
 */
export function serviceVerifierFromConfig(config: JwtSettings, logger?: Log): TokenVerifier {
  const keys: Partial<VerifierOptions> = config.serviceJwtSecret
    ? { secret: config.serviceJwtSecret, scopeClaim: 'scope', scopeFormat: 'auto' }
    : userKeyOptions(config, logger);
  return new TokenVerifier({
    ...keys,
    issuer: config.jwtIssuer,
    audience: config.serviceJwtAudience,
    refusedAudiences: [config.jwtAudience],
    clockToleranceMs: config.jwtClockToleranceMs,
  });
}

import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { TokenVerifier } from './verifier.ts';

/** The auth settings a service reads (packages/config authSettings plus TIDELINE_ENV). */
export interface JwtSettings {
  environment: string;
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtIssuer: string;
  jwtAudience: string;
  jwtClockToleranceMs: number;
}

/**
 * The HS256 key tokens are verified (and service tokens minted) with: the configured secret, none
 * when only a public key is configured, and the development key only outside production (where
 * `requireJwtKey` already refused to start without a key).
 */
export function jwtSecretOf(config: JwtSettings): string | undefined {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.jwtPublicKey) return undefined;
  return config.environment === 'production' ? undefined : DEVELOPMENT_JWT_SECRET;
}

/** The verifier of a service, from its settings; says so in the log when it falls back to the development key. */
export function verifierFromConfig(
  config: JwtSettings,
  logger?: { warn(message: string): void },
): TokenVerifier {
  if (!config.jwtSecret && !config.jwtPublicKey) {
    logger?.warn(
      'no TIDELINE_JWT_SECRET or TIDELINE_JWT_PUBLIC_KEY: accepting tokens signed with the development key',
    );
  }
  return new TokenVerifier({
    secret: jwtSecretOf(config),
    publicKey: config.jwtPublicKey,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    clockToleranceMs: config.jwtClockToleranceMs,
  });
}

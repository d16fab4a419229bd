import {
  authSettings,
  busSettings,
  type ConfigOf,
  cacheSettings,
  type commonSettings,
  DEVELOPMENT_JWT_SECRET,
  redisSettings,
  requireJwtKey,
  statefulSettings,
} from '@tideline/config';

/** Everything the cache reads from its environment (plus the common settings runService adds). */
export const settings = {
  ...cacheSettings,
  ...busSettings,
  ...authSettings,
  ...redisSettings,
  ...statefulSettings,
};

export type CacheConfig = ConfigOf<typeof settings> & ConfigOf<typeof commonSettings>;

/** Cross rules checked at start: a JWT key outside development/test. */
export const rules = [requireJwtKey];

/** The HS256 key tokens are verified with; the development key only outside production. */
export function jwtSecretOf(config: CacheConfig): string | undefined {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.jwtPublicKey) return undefined;
  return config.environment === 'production' ? undefined : DEVELOPMENT_JWT_SECRET;
}

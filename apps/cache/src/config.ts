import {
  authSettings,
  busSettings,
  type ConfigOf,
  cacheSettings,
  type commonSettings,
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

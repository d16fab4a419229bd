import {
  authSettings,
  busSettings,
  type ConfigOf,
  type commonSettings,
  informerSettings,
  redisSettings,
  renewWithinLeaseTtl,
  requireJwtKey,
  statefulSettings,
} from '@tideline/config';

/** Everything the informer reads from its environment (plus the common settings runService adds). */
export const settings = {
  ...informerSettings,
  ...busSettings,
  ...authSettings,
  ...redisSettings,
  ...statefulSettings,
};

export type InformerConfig = ConfigOf<typeof settings> & ConfigOf<typeof commonSettings>;

/** Cross rules checked at start: a JWT key outside development/test; a lease outlasts 3 renew intervals. */
export const rules = [requireJwtKey, renewWithinLeaseTtl];

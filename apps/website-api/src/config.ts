import {
  authSettings,
  busSettings,
  type ConfigOf,
  type commonSettings,
  databaseSettings,
  redisSettings,
  requireJwtKey,
  websiteApiSettings,
} from '@tideline/config';

/** Everything website-api reads from its environment (plus the common settings runService adds). */
export const settings = {
  ...websiteApiSettings,
  ...databaseSettings,
  ...redisSettings,
  ...busSettings,
  ...authSettings,
};

export type WebsiteApiConfig = ConfigOf<typeof settings> & ConfigOf<typeof commonSettings>;

/** Cross rules checked at start: a JWT key outside development/test. */
export const rules = [requireJwtKey];

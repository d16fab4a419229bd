import {
  authSettings,
  busSettings,
  type ConfigOf,
  type commonSettings,
  informerSettings,
  requireJwtKey,
} from '@tideline/config';

/** Everything the informer reads from its environment (plus the common settings runService adds). */
export const settings = { ...informerSettings, ...busSettings, ...authSettings };

export type InformerConfig = ConfigOf<typeof settings> & ConfigOf<typeof commonSettings>;

/** Cross rules checked at start: a JWT key outside development/test. */
export const rules = [requireJwtKey];

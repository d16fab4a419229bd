import { createHash } from 'node:crypto';
import { ConfigError } from '@tideline/config';
import { parseRegistrationKey, RegistrationCipher } from './cipher.ts';

const KEY_ENV = 'TIDELINE_INFORMER_REGISTRATION_KEY';
const PREVIOUS_KEY_ENV = 'TIDELINE_INFORMER_REGISTRATION_PREVIOUS_KEY';
const KEY_RULE = '32 bytes in base64 or hex';

/** The key development and tests use when none is configured; refused in production. */
export const DEVELOPMENT_REGISTRATION_KEY = createHash('sha256')
  .update('tideline-development-registration-key-do-not-use-in-production')
  .digest();

export interface RegistrationKeyConfig {
  environment: string;
  informerRegistrationStore: string;
  informerRegistrationKey: string | undefined;
  informerRegistrationPreviousKey: string | undefined;
}

/**
 * Cross rule: keys must be 32 bytes (base64 or hex); with the Redis store in production a key is
 * required and may not be the development key.
 */
export function registrationKeyRule(config: RegistrationKeyConfig): ConfigError | undefined {
  for (const [env, value] of [
    [KEY_ENV, config.informerRegistrationKey],
    [PREVIOUS_KEY_ENV, config.informerRegistrationPreviousKey],
  ] as const) {
    if (value !== undefined && !parseRegistrationKey(value))
      return new ConfigError(env, KEY_RULE, '(hidden)');
  }
  if (config.environment !== 'production' || config.informerRegistrationStore !== 'redis') return undefined;
  if (config.informerRegistrationKey === undefined)
    return new ConfigError(
      KEY_ENV,
      'set when TIDELINE_ENV is production and TIDELINE_INFORMER_REGISTRATION_STORE is redis',
      'nothing: it is required',
    );
  if (parseRegistrationKey(config.informerRegistrationKey)!.equals(DEVELOPMENT_REGISTRATION_KEY))
    return new ConfigError(KEY_ENV, 'not the development key when TIDELINE_ENV is production', '(hidden)');
  return undefined;
}

/** The cipher of the configured keys (the development key when none is set outside production). */
export function registrationCipherFromConfig(config: RegistrationKeyConfig): RegistrationCipher {
  const current =
    config.informerRegistrationKey !== undefined
      ? parseRegistrationKey(config.informerRegistrationKey)
      : DEVELOPMENT_REGISTRATION_KEY;
  const previous =
    config.informerRegistrationPreviousKey !== undefined
      ? parseRegistrationKey(config.informerRegistrationPreviousKey)
      : undefined;
  if (!current || (config.informerRegistrationPreviousKey !== undefined && !previous))
    throw new ConfigError(KEY_ENV, KEY_RULE, '(hidden)');
  return new RegistrationCipher(current, previous);
}

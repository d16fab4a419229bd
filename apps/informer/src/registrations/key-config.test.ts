import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ConfigError, commonSettings, loadConfig } from '@tideline/config';
import { describe, expect, it } from 'vitest';
import { rules, settings } from '../config.ts';
import { RegistrationCipher, registrationKeyId } from './cipher.ts';
import { DEVELOPMENT_REGISTRATION_KEY, registrationCipherFromConfig } from './key-config.ts';

// A production informer also needs the API servers registered clusters may name.
const JWT = {
  TIDELINE_JWT_SECRET: 'a-production-secret-of-at-least-32-characters',
  TIDELINE_INFORMER_API_SERVER_HOSTS: 'k8s.example.com',
};
const load = (env: Record<string, string>) => loadConfig({ ...commonSettings, ...settings }, { env }, rules);

function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('registration key configuration', () => {
  it('config - production with the Redis registration store and no key is refused', () => {
    const error = configError({ TIDELINE_ENV: 'production', ...JWT });
    expect(error.variable).toBe('TIDELINE_INFORMER_REGISTRATION_KEY');
    expect(error.message).toContain('required');
  });

  it('config - the development key is refused in production, and its value is never printed', () => {
    const dev = DEVELOPMENT_REGISTRATION_KEY.toString('base64');
    const error = configError({
      TIDELINE_ENV: 'production',
      ...JWT,
      TIDELINE_INFORMER_REGISTRATION_KEY: dev,
    });
    expect(error.message).toBe(
      'TIDELINE_INFORMER_REGISTRATION_KEY: must be not the development key when TIDELINE_ENV is production (got (hidden))',
    );
  });

  it('config - a key that is not 32 bytes of base64 or hex is refused without printing it', () => {
    for (const variable of [
      'TIDELINE_INFORMER_REGISTRATION_KEY',
      'TIDELINE_INFORMER_REGISTRATION_PREVIOUS_KEY',
    ]) {
      const error = configError({ TIDELINE_ENV: 'test', [variable]: 'short-passphrase-123' });
      expect(error.variable).toBe(variable);
      expect(error.message).not.toContain('short-passphrase');
    }
  });

  it('config - production with a key of its own, or with the memory store, starts; development falls back', () => {
    const key = randomBytes(32);
    const production = load({
      TIDELINE_ENV: 'production',
      ...JWT,
      TIDELINE_INFORMER_REGISTRATION_KEY: key.toString('hex'),
    });
    const sealed = new RegistrationCipher(key).seal('alpha', 'kubeconfig');
    expect(registrationCipherFromConfig(production).open('alpha', sealed)).toBe('kubeconfig');
    expect(
      load({ TIDELINE_ENV: 'production', ...JWT, TIDELINE_INFORMER_REGISTRATION_STORE: 'memory' }),
    ).toMatchObject({
      informerRegistrationStore: 'memory',
      informerRegistrationKey: undefined,
    });
    const development = load({ TIDELINE_ENV: 'development' });
    expect(registrationCipherFromConfig(development).currentKeyId).toBe(
      registrationKeyId(DEVELOPMENT_REGISTRATION_KEY),
    );
  });

  it('exit - an informer in production without a registration key exits 78 naming the variable', () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const env: Record<string, string | undefined> = { ...process.env, TIDELINE_ENV: 'production', ...JWT };
    for (const name of Object.keys(env))
      if (name.startsWith('TIDELINE_INFORMER_REGISTRATION')) delete env[name];
    const result = spawnSync(process.execPath, ['--import', 'tsx', main], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr.trim().split('\n')).toEqual([
      'config error: TIDELINE_INFORMER_REGISTRATION_KEY: must be set when TIDELINE_ENV is production and TIDELINE_INFORMER_REGISTRATION_STORE is redis (got nothing: it is required)',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../load.ts';
import { authSettings, DEVELOPMENT_JWT_SECRET, requireJwtKey, requireServiceTokenKey } from './auth.ts';
import { commonSettings } from './common.ts';

const spec = { ...commonSettings, ...authSettings };
const OWN_SECRET = 'an-operator-secret-of-at-least-32-bytes';
const PEM = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(spec, { env }, [requireJwtKey]);
  } catch (error) {
    return (error as Error).message;
  }
  return 'started';
}

describe('requireJwtKey', () => {
  it('production - the development key is refused as user and as service secret, and never printed', () => {
    for (const variable of ['TIDELINE_JWT_SECRET', 'TIDELINE_SERVICE_JWT_SECRET']) {
      const message = refusal({
        TIDELINE_ENV: 'production',
        TIDELINE_JWT_SECRET: OWN_SECRET,
        [variable]: DEVELOPMENT_JWT_SECRET,
      });
      expect(message).toBe(
        `${variable}: must be a key of your own outside development/test, not the published development key (got (hidden))`,
      );
      expect(message).not.toContain(DEVELOPMENT_JWT_SECRET);
    }
    expect(refusal({ TIDELINE_ENV: 'development', TIDELINE_JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toBe(
      'started',
    );
    expect(refusal({ TIDELINE_ENV: 'test' })).toBe('started');
  });

  it('short secret - 32 bytes are required, counted in bytes not characters', () => {
    const thirtyOneBytes = `${'ü'.repeat(15)}a`; // 16 characters
    expect(refusal({ TIDELINE_ENV: 'test', TIDELINE_JWT_SECRET: thirtyOneBytes })).toBe(
      'TIDELINE_JWT_SECRET: must be at least 32 bytes (got (hidden))',
    );
    expect(refusal({ TIDELINE_ENV: 'test', TIDELINE_SERVICE_JWT_SECRET: 'short' })).toBe(
      'TIDELINE_SERVICE_JWT_SECRET: must be at least 32 bytes (got (hidden))',
    );
    expect(refusal({ TIDELINE_ENV: 'production', TIDELINE_JWT_SECRET: 'ü'.repeat(16) })).toBe('started');
  });

  it('production - a secret together with a public key or a JWKS URL is refused (which key would verify?)', () => {
    expect(
      refusal({ TIDELINE_ENV: 'production', TIDELINE_JWT_SECRET: OWN_SECRET, TIDELINE_JWT_PUBLIC_KEY: PEM }),
    ).toBe(
      'TIDELINE_JWT_SECRET: must be unset when TIDELINE_JWT_PUBLIC_KEY is set outside development/test (one kind of user-token key) (got both set)',
    );
    expect(
      refusal({
        TIDELINE_ENV: 'production',
        TIDELINE_JWT_SECRET: OWN_SECRET,
        TIDELINE_JWT_JWKS_URL: 'https://idp.example/jwks.json',
      }),
    ).toMatch(/^TIDELINE_JWT_SECRET: must be unset when TIDELINE_JWT_JWKS_URL is set/);
    // A service secret of their own is no user-token key: it goes with an identity provider.
    expect(
      refusal({
        TIDELINE_ENV: 'production',
        TIDELINE_JWT_JWKS_URL: 'https://idp.example/jwks.json',
        TIDELINE_SERVICE_JWT_SECRET: OWN_SECRET,
      }),
    ).toBe('started');
  });

  it('production - a JWKS fetched over plain http (keys forgeable on the way) is refused', () => {
    expect(
      refusal({ TIDELINE_ENV: 'production', TIDELINE_JWT_JWKS_URL: 'http://idp.example/jwks.json' }),
    ).toBe(
      'TIDELINE_JWT_JWKS_URL: must be an https URL outside development/test (keys fetched over plain HTTP can be forged on the way) (got an http URL)',
    );
    expect(refusal({ TIDELINE_ENV: 'test', TIDELINE_JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json' })).toBe(
      'started',
    );
  });

  it('algorithms - HS256 without a secret, or RS256/ES256 without a public key or JWKS, is refused', () => {
    expect(
      refusal({
        TIDELINE_JWT_JWKS_URL: 'https://idp.example/jwks.json',
        TIDELINE_JWT_ALGORITHMS: 'ES256,HS256',
      }),
    ).toBe('TIDELINE_JWT_ALGORITHMS: must be free of HS256 without TIDELINE_JWT_SECRET (got HS256)');
    expect(refusal({ TIDELINE_JWT_SECRET: OWN_SECRET, TIDELINE_JWT_ALGORITHMS: 'ES256' })).toBe(
      'TIDELINE_JWT_ALGORITHMS: must be free of ES256 without TIDELINE_JWT_PUBLIC_KEY or TIDELINE_JWT_JWKS_URL (got ES256)',
    );
  });

  it('audiences - a service audience equal to the user audience (user tokens passing as service tokens) is refused', () => {
    expect(
      refusal({
        TIDELINE_ENV: 'test',
        TIDELINE_JWT_AUDIENCE: 'tideline',
        TIDELINE_SERVICE_JWT_AUDIENCE: 'tideline',
      }),
    ).toBe(
      'TIDELINE_SERVICE_JWT_AUDIENCE: must be different from TIDELINE_JWT_AUDIENCE (a user token must never pass as a service token) (got "tideline")',
    );
  });

  it('service tokens - a caller of /internal/* with only an identity provider key has nothing to mint service tokens with', () => {
    const env = { TIDELINE_ENV: 'production', TIDELINE_JWT_JWKS_URL: 'https://idp.example/jwks.json' };
    expect(() => loadConfig(spec, { env }, [requireJwtKey, requireServiceTokenKey])).toThrow(
      'TIDELINE_SERVICE_JWT_SECRET: must be set (or TIDELINE_SERVICE_TOKEN) when user tokens are verified with a public key or JWKS: service tokens are minted with it (got nothing: it is required)',
    );
    expect(() =>
      loadConfig(spec, { env: { ...env, TIDELINE_SERVICE_JWT_SECRET: OWN_SECRET } }, [
        requireJwtKey,
        requireServiceTokenKey,
      ]),
    ).not.toThrow();
  });
});

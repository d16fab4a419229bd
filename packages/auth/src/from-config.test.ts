import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { INTERNAL_SCOPE } from '@tideline/contracts';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { AuthError } from './errors.ts';
import {
  type JwtSettings,
  serviceJwtSecretOf,
  serviceVerifierFromConfig,
  verifierFromConfig,
} from './from-config.ts';
import { SCOPES } from './scopes.ts';
import { ServiceTokenSource } from './service-token.ts';
import { signToken } from './sign.ts';
import type { TokenVerifier } from './verifier.ts';

const settings: JwtSettings = {
  environment: 'test',
  jwtSecret: undefined,
  jwtPublicKey: undefined,
  jwtJwksUrl: undefined,
  jwtAlgorithms: [],
  jwtJwksCooldownMs: 30_000,
  jwtJwksCacheMaxAgeMs: 600_000,
  jwtJwksTimeoutMs: 5_000,
  jwtScopeClaim: 'scope',
  jwtScopeFormat: 'auto',
  jwtIssuer: 'tideline',
  jwtAudience: 'tideline',
  jwtClockToleranceMs: 0,
  serviceJwtAudience: 'tideline-internal',
  serviceJwtSecret: undefined,
};

const EVERY_SCOPE = [
  ...Object.values(SCOPES).filter((s) => typeof s === 'string'),
  INTERNAL_SCOPE,
  'nodes:read:prod',
];

async function reasonOf(verifier: TokenVerifier, token: string): Promise<string> {
  try {
    await verifier.verify(token);
  } catch (error) {
    if (error instanceof AuthError) return `${error.code}/${error.reason}`;
    throw error;
  }
  return 'accepted';
}

function userToken(config: JwtSettings, scopes: string[], audience: string | undefined = config.jwtAudience) {
  return signToken({
    secret: config.jwtSecret ?? DEVELOPMENT_JWT_SECRET,
    sub: 'mallory',
    scopes,
    issuer: config.jwtIssuer,
    audience: audience!,
    expiresInSeconds: 60,
  });
}

function minted(config: JwtSettings): string {
  return new ServiceTokenSource({
    secret: serviceJwtSecretOf(config),
    service: 'push-gateway',
    issuer: config.jwtIssuer,
    audience: config.serviceJwtAudience,
    lifetimeSeconds: 60,
  }).get();
}

describe('service tokens', () => {
  for (const [name, config] of [
    ['one shared secret', settings],
    [
      'a service secret of their own',
      { ...settings, serviceJwtSecret: 'a-service-secret-that-is-long-enough-x' },
    ],
  ] as const) {
    it(`internal - a user token carrying every scope is refused by the service verifier (${name})`, async () => {
      const service = serviceVerifierFromConfig(config);
      // With a service secret of their own the signature fails first; either way the token is refused.
      expect(await reasonOf(service, userToken(config, EVERY_SCOPE))).toBe(
        config.serviceJwtSecret ? 'UNAUTHORIZED/bad-signature' : 'UNAUTHORIZED/wrong-audience',
      );
      const principal = await service.verify(minted(config));
      expect(principal.uid).toBe('service:push-gateway');
      expect(principal.scopes.has(INTERNAL_SCOPE)).toBe(true);
    });

    it(`user endpoints - a minted service token is refused by the user verifier (${name})`, async () => {
      const user = verifierFromConfig(config);
      expect(await reasonOf(user, minted(config))).toBe(
        config.serviceJwtSecret ? 'UNAUTHORIZED/bad-signature' : 'UNAUTHORIZED/wrong-audience',
      );
      expect((await user.verify(userToken(config, [SCOPES.websitesRead]))).uid).toBe('mallory');
    });
  }

  it('audiences - a token naming both the user and the service audience is refused on both sides', async () => {
    const token = jwtWithAudiences(['tideline', 'tideline-internal']);
    expect(await reasonOf(serviceVerifierFromConfig(settings), token)).toBe('UNAUTHORIZED/wrong-audience');
    expect(await reasonOf(verifierFromConfig(settings), token)).toBe('UNAUTHORIZED/wrong-audience');
  });

  it('service secret - a service token signed with the user secret (a leaked user-signing key) is refused when services have their own', async () => {
    const config = { ...settings, serviceJwtSecret: 'a-service-secret-that-is-long-enough-x' };
    const forged = userToken(config, [INTERNAL_SCOPE], config.serviceJwtAudience);
    expect(await reasonOf(serviceVerifierFromConfig(config), forged)).toBe('UNAUTHORIZED/bad-signature');
  });
});

function jwtWithAudiences(audiences: string[]): string {
  return jwt.sign({ scope: INTERNAL_SCOPE }, DEVELOPMENT_JWT_SECRET, {
    algorithm: 'HS256',
    subject: 'mallory',
    issuer: 'tideline',
    audience: audiences,
    expiresIn: 60,
  });
}

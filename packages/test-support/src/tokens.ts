import { signToken } from '@tideline/auth';
import { DEVELOPMENT_JWT_SECRET } from '@tideline/config';
import { INTERNAL_SCOPE } from '@tideline/contracts';

export const TEST_JWT = {
  secret: DEVELOPMENT_JWT_SECRET,
  issuer: 'tideline',
  audience: 'tideline',
  serviceAudience: 'tideline-internal',
} as const;

/** A token for tests, signed with the development key and default issuer/audience. */
export function testToken(
  sub: string,
  scopes: string[],
  overrides: { expiresInSeconds?: number; secret?: string; audience?: string; issuer?: string } = {},
): string {
  return signToken({
    secret: overrides.secret ?? TEST_JWT.secret,
    sub,
    scopes,
    issuer: overrides.issuer ?? TEST_JWT.issuer,
    audience: overrides.audience ?? TEST_JWT.audience,
    expiresInSeconds: overrides.expiresInSeconds ?? 600,
  });
}

/** A service token for `/internal/*` in tests: the service audience and scope `internal`. */
export function testServiceToken(
  sub: string,
  overrides: { expiresInSeconds?: number; secret?: string } = {},
): string {
  return testToken(sub, [INTERNAL_SCOPE], { ...overrides, audience: TEST_JWT.serviceAudience });
}

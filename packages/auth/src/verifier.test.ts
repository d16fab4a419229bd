import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { AuthError } from './errors.ts';
import { canReadCluster, hasScope } from './scopes.ts';
import { signToken } from './sign.ts';
import { TokenVerifier } from './verifier.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const verifier = new TokenVerifier({ secret, issuer: 'tideline', audience: 'tideline', clockToleranceMs: 0 });
const base = {
  secret,
  sub: 'u1',
  scopes: ['websites:read', 'nodes:read:prod'],
  issuer: 'tideline',
  audience: 'tideline',
  expiresInSeconds: 60,
};

async function reasonOf(token: unknown, v = verifier): Promise<string> {
  try {
    await v.verify(token);
  } catch (error) {
    if (error instanceof AuthError) return `${error.code}/${error.reason}`;
    throw error;
  }
  return 'accepted';
}

describe('TokenVerifier', () => {
  it('accepts - a valid token gives uid, scopes and expiry', async () => {
    const principal = await verifier.verify(signToken(base));
    expect(principal.uid).toBe('u1');
    expect([...principal.scopes]).toEqual(['websites:read', 'nodes:read:prod']);
    expect(principal.expiresAtMs).toBeGreaterThan(Date.now());
    expect(hasScope(principal, 'websites:read')).toBe(true);
    expect(hasScope(principal, 'websites:write')).toBe(false);
    expect(canReadCluster(principal, 'prod')).toBe(true);
    expect(canReadCluster(principal, 'staging')).toBe(false);
  });

  it('refuses - missing, malformed, expired, wrong key, wrong issuer, wrong audience, not yet valid', async () => {
    expect(await reasonOf(undefined)).toBe('UNAUTHORIZED/missing');
    expect(await reasonOf('')).toBe('UNAUTHORIZED/missing');
    expect(await reasonOf('not.a.jwt')).toBe('UNAUTHORIZED/malformed');
    expect(await reasonOf(signToken({ ...base, expiresInSeconds: -10 }))).toBe('TOKEN_EXPIRED/expired');
    expect(await reasonOf(signToken({ ...base, secret: 'another-secret-that-is-long-enough-x' }))).toBe(
      'UNAUTHORIZED/bad-signature',
    );
    expect(await reasonOf(signToken({ ...base, issuer: 'evil' }))).toBe('UNAUTHORIZED/wrong-issuer');
    expect(await reasonOf(signToken({ ...base, audience: 'other' }))).toBe('UNAUTHORIZED/wrong-audience');
    expect(await reasonOf(signToken({ ...base, notBeforeSeconds: 120 }))).toBe('UNAUTHORIZED/not-yet-valid');
  });

  it("refuses - alg 'none' and a token without sub or exp", async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        sub: 'u1',
        iss: 'tideline',
        aud: 'tideline',
        exp: Math.floor(Date.now() / 1000) + 60,
      }),
    ).toString('base64url');
    expect(await reasonOf(`${header}.${payload}.`)).toBe('UNAUTHORIZED/bad-signature');
    const noSub = jwt.sign({ scope: '' }, secret, {
      issuer: 'tideline',
      audience: 'tideline',
      expiresIn: 60,
    });
    expect(await reasonOf(noSub)).toBe('UNAUTHORIZED/malformed');
    const noExp = jwt.sign({ scope: '' }, secret, { issuer: 'tideline', audience: 'tideline', subject: 'u' });
    expect(await reasonOf(noExp)).toBe('UNAUTHORIZED/malformed');
  });

  it('RS256 - only the pinned algorithm is accepted (no HS256 with the public key as secret)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = new TokenVerifier({
      publicKey: pem,
      issuer: 'tideline',
      audience: 'tideline',
      clockToleranceMs: 0,
    });
    const good = jwt.sign({ scope: 'websites:read' }, privateKey, {
      algorithm: 'RS256',
      subject: 'u',
      issuer: 'tideline',
      audience: 'tideline',
      expiresIn: 60,
    });
    expect((await rs.verify(good)).uid).toBe('u');
    const confused = jwt.sign({}, pem, {
      algorithm: 'HS256',
      subject: 'u',
      issuer: 'tideline',
      audience: 'tideline',
      expiresIn: 60,
    });
    expect(await reasonOf(confused, rs)).toBe('UNAUTHORIZED/bad-signature');
  });
});

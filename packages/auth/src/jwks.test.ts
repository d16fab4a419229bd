import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthError } from './errors.ts';
import { TestIdentityProvider } from './testing/index.ts';
import { TokenVerifier, type VerifierOptions } from './verifier.ts';

let idp: TestIdentityProvider;
beforeEach(async () => {
  idp = await TestIdentityProvider.start();
});
afterEach(async () => {
  await idp.close();
});

function jwksVerifier(overrides: Partial<VerifierOptions> = {}, errors: unknown[] = []): TokenVerifier {
  return new TokenVerifier({
    jwks: {
      url: idp.jwksUrl,
      cooldownMs: 0,
      cacheMaxAgeMs: 600_000,
      timeoutMs: 2_000,
      onError: (error) => errors.push(error),
    },
    issuer: 'tideline',
    audience: 'tideline',
    clockToleranceMs: 0,
    ...overrides,
  });
}

async function reasonOf(verifier: TokenVerifier, token: string): Promise<string> {
  try {
    await verifier.verify(token);
  } catch (error) {
    if (error instanceof AuthError) return `${error.code}/${error.reason}`;
    throw error;
  }
  return 'accepted';
}

describe('TokenVerifier with a JWKS', () => {
  it('jwks - RS256 and ES256 tokens of published keys are accepted, the JWKS is fetched once', async () => {
    const rsa = await idp.createKey('RS256');
    const ec = await idp.createKey('ES256');
    idp.publish(rsa, ec);
    const verifier = jwksVerifier();
    const a = await verifier.verify(await idp.sign(rsa, { sub: 'ann', claims: { scope: 'websites:read' } }));
    const b = await verifier.verify(await idp.sign(ec, { sub: 'bob', claims: { scope: 'nodes:read' } }));
    expect([a.uid, [...a.scopes]]).toEqual(['ann', ['websites:read']]);
    expect([b.uid, [...b.scopes]]).toEqual(['bob', ['nodes:read']]);
    expect(idp.fetches).toBe(1);
  });

  it('jwks rotation - a new key is fetched on its unknown kid; a key no longer published is refused', async () => {
    const old = await idp.createKey('RS256');
    idp.publish(old);
    const verifier = jwksVerifier();
    const oldToken = await idp.sign(old, { sub: 'ann' });
    expect((await verifier.verify(oldToken)).uid).toBe('ann');
    const next = await idp.createKey('ES256');
    idp.publish(next);
    expect((await verifier.verify(await idp.sign(next, { sub: 'ann' }))).uid).toBe('ann');
    expect(idp.fetches).toBe(2);
    expect(await reasonOf(verifier, oldToken)).toBe('UNAUTHORIZED/bad-signature');
  });

  it('jwks cooldown - tokens with unknown kids do not make the verifier fetch the JWKS again within the cooldown', async () => {
    const known = await idp.createKey('RS256');
    idp.publish(known);
    const verifier = jwksVerifier({
      jwks: { url: idp.jwksUrl, cooldownMs: 3_600_000, cacheMaxAgeMs: 3_600_000, timeoutMs: 2_000 },
    });
    await verifier.verify(await idp.sign(known, { sub: 'ann' }));
    expect(idp.fetches).toBe(1);
    const forged = await idp.createKey('RS256');
    for (let i = 0; i < 20; i++) {
      expect(await reasonOf(verifier, await idp.sign(forged, { sub: `attacker-${i}` }))).toBe(
        'UNAUTHORIZED/bad-signature',
      );
    }
    expect(idp.fetches).toBe(1);
  });

  it('jwks unreachable - tokens are refused with keys-unavailable, the cause is reported, and it is not asked again within the cooldown', async () => {
    const kid = await idp.createKey('RS256');
    idp.publish(kid);
    idp.down = true;
    const errors: unknown[] = [];
    const verifier = jwksVerifier({
      jwks: {
        url: idp.jwksUrl,
        cooldownMs: 3_600_000,
        cacheMaxAgeMs: 600_000,
        timeoutMs: 2_000,
        onError: (e) => errors.push(e),
      },
    });
    const token = await idp.sign(kid, { sub: 'ann' });
    let refusal: unknown;
    try {
      await verifier.verify(token);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(AuthError);
    expect((refusal as AuthError).code).toBe('UNAUTHORIZED');
    expect((refusal as AuthError).reason).toBe('keys-unavailable');
    expect((refusal as AuthError).message).not.toContain('127.0.0.1');
    expect(errors).toHaveLength(1);
    expect(await reasonOf(verifier, token)).toBe('UNAUTHORIZED/keys-unavailable');
    expect(idp.fetches).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('jwks - an HS256 token (whatever its key) and alg none are refused when only the JWKS is trusted', async () => {
    const kid = await idp.createKey('RS256');
    idp.publish(kid);
    const verifier = jwksVerifier();
    const hs = jwt.sign({}, 'a-test-secret-that-is-long-enough-for-hs256', {
      algorithm: 'HS256',
      keyid: kid,
      subject: 'u',
      issuer: 'tideline',
      audience: 'tideline',
      expiresIn: 60,
    });
    expect(await reasonOf(verifier, hs)).toBe('UNAUTHORIZED/bad-signature');
    const payload = (await idp.sign(kid, { sub: 'u' })).split('.')[1];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${payload}.`;
    expect(await reasonOf(verifier, none)).toBe('UNAUTHORIZED/bad-signature');
  });
});

describe('scope claim', () => {
  it('scp array - a token whose scopes come in an array claim is authorised for them', async () => {
    const kid = await idp.createKey('ES256');
    idp.publish(kid);
    const verifier = jwksVerifier({ scopeClaim: 'scp' });
    const principal = await verifier.verify(
      await idp.sign(kid, {
        sub: 'ann',
        claims: { scp: ['websites:read', 'nodes:read:prod'], scope: 'clusters:admin' },
      }),
    );
    expect([...principal.scopes]).toEqual(['websites:read', 'nodes:read:prod']);
  });

  it('scope format - a fixed format ignores the other shape; auto takes both; a custom claim is read', async () => {
    const kid = await idp.createKey('RS256');
    idp.publish(kid);
    const claim = 'https://tideline.example/scopes';
    const asArray = await idp.sign(kid, { sub: 'u', claims: { [claim]: ['websites:read'] } });
    const asString = await idp.sign(kid, { sub: 'u', claims: { [claim]: 'websites:read websites:write' } });
    const scopes = async (format: 'auto' | 'array' | 'space-separated', token: string) => [
      ...(await jwksVerifier({ scopeClaim: claim, scopeFormat: format }).verify(token)).scopes,
    ];
    expect(await scopes('auto', asArray)).toEqual(['websites:read']);
    expect(await scopes('auto', asString)).toEqual(['websites:read', 'websites:write']);
    expect(await scopes('array', asString)).toEqual([]);
    expect(await scopes('space-separated', asArray)).toEqual([]);
  });
});

describe('public key', () => {
  it('ES256 - an EC public key accepts ES256 only; an RS256 token and an HMAC made with the public key are refused', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const verifier = new TokenVerifier({
      publicKey: pem,
      issuer: 'tideline',
      audience: 'tideline',
      clockToleranceMs: 0,
    });
    const claims = { subject: 'u', issuer: 'tideline', audience: 'tideline', expiresIn: 60 } as const;
    expect((await verifier.verify(jwt.sign({}, ec.privateKey, { ...claims, algorithm: 'ES256' }))).uid).toBe(
      'u',
    );
    expect(await reasonOf(verifier, jwt.sign({}, rsa.privateKey, { ...claims, algorithm: 'RS256' }))).toBe(
      'UNAUTHORIZED/bad-signature',
    );
    expect(await reasonOf(verifier, jwt.sign({}, pem, { ...claims, algorithm: 'HS256' }))).toBe(
      'UNAUTHORIZED/bad-signature',
    );
  });

  it('algorithms - an allow-list naming an algorithm without its key is refused at construction', () => {
    expect(
      () =>
        new TokenVerifier({
          secret: 'a-test-secret-that-is-long-enough-for-hs256',
          algorithms: ['RS256'],
          issuer: 'tideline',
          audience: 'tideline',
          clockToleranceMs: 0,
        }),
    ).toThrow(/RS256 is allowed but no key/);
  });
});

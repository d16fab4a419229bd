import { AuthError, type Principal, type TokenVerifier } from '@tideline/auth';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rememberVerifiedTokens } from './remembered-tokens.ts';

/** A verifier accepting tokens `ok:<name>` until `expiresAtMs`, counting its checks. */
function countingVerifier(expiresAtMs: number) {
  const checks: string[] = [];
  const verifier = {
    async verify(token: unknown): Promise<Principal> {
      checks.push(String(token));
      if (typeof token !== 'string' || !token.startsWith('ok:'))
        throw new AuthError('malformed', 'bad token');
      return { uid: token.slice(3), scopes: new Set(['websites:write']), expiresAtMs };
    },
  } as unknown as TokenVerifier;
  return { verifier, checks };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('rememberVerifiedTokens', () => {
  it('tokens - a token verified once is accepted again without a second check, with the same principal', async () => {
    const { verifier, checks } = countingVerifier(Date.now() + 60_000);
    const remembering = rememberVerifiedTokens(verifier, { size: 10 });
    const first = await remembering.verify('ok:ann');
    expect(await remembering.verify('ok:ann')).toBe(first);
    expect(checks).toEqual(['ok:ann']);
  });

  it('tokens - a refused token is checked (and refused) every time', async () => {
    const { verifier, checks } = countingVerifier(Date.now() + 60_000);
    const remembering = rememberVerifiedTokens(verifier, { size: 10 });
    await expect(remembering.verify('forged')).rejects.toThrow(AuthError);
    await expect(remembering.verify('forged')).rejects.toThrow(AuthError);
    expect(checks).toEqual(['forged', 'forged']);
  });

  it('tokens - once past its exp a remembered token is verified afresh', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { verifier, checks } = countingVerifier(1_000_000 + 5_000);
    const remembering = rememberVerifiedTokens(verifier, { size: 10 });
    await remembering.verify('ok:ann');
    vi.setSystemTime(1_000_000 + 5_000);
    await remembering.verify('ok:ann');
    expect(checks).toEqual(['ok:ann', 'ok:ann']);
  });

  it("retired key - with a JWKS, a remembered token is verified afresh once the key set's max age has passed, so a token of a key the identity provider retired is refused then", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { verifier, checks } = countingVerifier(1_000_000 + 3_600_000);
    const remembering = rememberVerifiedTokens(verifier, { size: 10, maxAgeMs: 600_000 });
    await remembering.verify('ok:ann');
    vi.setSystemTime(1_000_000 + 599_999);
    await remembering.verify('ok:ann');
    expect(checks).toEqual(['ok:ann']);
    // The identity provider retired the key: the verifier (having fetched the set again) refuses it.
    verifier.verify = async () => {
      throw new AuthError('bad-signature', 'no published key matches the token (kid)');
    };
    vi.setSystemTime(1_000_000 + 600_000);
    await expect(remembering.verify('ok:ann')).rejects.toThrow('no published key');
  });

  it('tokens - at most size tokens are remembered; the least recently used goes first', async () => {
    const { verifier, checks } = countingVerifier(Date.now() + 60_000);
    const remembering = rememberVerifiedTokens(verifier, { size: 2 });
    await remembering.verify('ok:a');
    await remembering.verify('ok:b');
    await remembering.verify('ok:a'); // a is now the most recent
    await remembering.verify('ok:c'); // b is dropped
    await remembering.verify('ok:a');
    await remembering.verify('ok:b');
    expect(checks).toEqual(['ok:a', 'ok:b', 'ok:c', 'ok:b']);
  });

  it('tokens - size 0 remembers nothing', async () => {
    const { verifier, checks } = countingVerifier(Date.now() + 60_000);
    const remembering = rememberVerifiedTokens(verifier, { size: 0 });
    await remembering.verify('ok:a');
    await remembering.verify('ok:a');
    expect(checks).toEqual(['ok:a', 'ok:a']);
  });
});

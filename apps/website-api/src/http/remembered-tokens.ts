import type { Principal, TokenVerifier } from '@tideline/auth';

/**
 * `verifier` remembering up to `size` tokens it accepted (least recently used dropped first): the
 * same token again is accepted without checking its signature and claims once more, until its
 * `exp`; after that it is verified afresh (and refused). Refused tokens are never remembered. The
 * principal is the one the verification gave. `size` 0 returns `verifier` itself.
 */
export function rememberVerifiedTokens(verifier: TokenVerifier, size: number): TokenVerifier {
  if (size === 0) return verifier;
  const remembered = new Map<string, Principal>();
  const remembering = Object.create(verifier) as TokenVerifier;
  remembering.verify = async (token: unknown): Promise<Principal> => {
    if (typeof token === 'string') {
      const known = remembered.get(token);
      if (known) {
        remembered.delete(token);
        if (Date.now() < known.expiresAtMs) {
          remembered.set(token, known);
          return known;
        }
      }
    }
    const principal = await verifier.verify(token);
    if (typeof token === 'string') {
      remembered.set(token, principal);
      if (remembered.size > size) remembered.delete(remembered.keys().next().value!);
    }
    return principal;
  };
  return remembering;
}

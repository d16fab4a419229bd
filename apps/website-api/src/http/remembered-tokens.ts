import type { Principal, TokenVerifier } from '@tideline/auth';

export interface RememberOptions {
  /** Tokens remembered at most (least recently used dropped first); 0 remembers none. */
  size: number;
  /**
   * Longest a token is remembered after its verification, whatever its `exp`: the age after
   * which the verifier would itself fetch its signing keys again (a JWKS's cache max age), so a
   * token whose key the identity provider retired is refused no later than the verifier refuses
   * it. Undefined: until `exp` (keys that only change with a restart, which forgets every token).
   */
  maxAgeMs?: number | undefined;
}

/**
 * `verifier` remembering up to `size` tokens it accepted: the same token again is accepted
 * without checking its signature and claims once more, until its `exp` or `maxAgeMs` after it
 * was verified, whichever comes first; after that it is verified afresh (and refused if it must
 * be). Refused tokens are never remembered. The principal is the one the verification gave.
 * `size` 0 returns `verifier` itself.
 */
export function rememberVerifiedTokens(verifier: TokenVerifier, options: RememberOptions): TokenVerifier {
  const { size, maxAgeMs } = options;
  if (size === 0) return verifier;
  const remembered = new Map<string, { principal: Principal; untilMs: number }>();
  const remembering = Object.create(verifier) as TokenVerifier;
  remembering.verify = async (token: unknown): Promise<Principal> => {
    if (typeof token === 'string') {
      const known = remembered.get(token);
      if (known) {
        remembered.delete(token);
        if (Date.now() < known.untilMs) {
          remembered.set(token, known);
          return known.principal;
        }
      }
    }
    const principal = await verifier.verify(token);
    if (typeof token === 'string') {
      const untilMs =
        maxAgeMs === undefined
          ? principal.expiresAtMs
          : Math.min(principal.expiresAtMs, Date.now() + maxAgeMs);
      remembered.set(token, { principal, untilMs });
      if (remembered.size > size) remembered.delete(remembered.keys().next().value!);
    }
    return principal;
  };
  return remembering;
}

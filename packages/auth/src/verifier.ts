import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { JWT_ALGORITHMS } from '@tideline/config';
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { AuthError } from './errors.ts';
import { type KeySetOptions, RemoteKeySet } from './key-set.ts';

export interface Principal {
  /** The `sub` claim: the user id. */
  uid: string;
  scopes: ReadonlySet<string>;
  /** Expiry as epoch milliseconds. */
  expiresAtMs: number;
}

/** Signature algorithms a verifier can be allowed. */
/** The algorithms the settings name (`JWT_ALGORITHMS` of @tideline/config). */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Where the scopes sit: a space-separated string, an array of strings, or either (`auto`). */
export type ScopeFormat = 'auto' | 'space-separated' | 'array';

export interface VerifierOptions {
  /** HS256 secret. */
  secret?: string | undefined;
  /** RS256 (RSA) or ES256 (EC P-256) public key (PEM); excludes `jwks`. */
  publicKey?: string | undefined;
  /** The identity provider's JWKS (keys chosen by `kid`); excludes `publicKey`. */
  jwks?: KeySetOptions | undefined;
  /**
   * Accepted algorithms. Default: RS256 and ES256 for a JWKS, the key type of `publicKey`, else
   * HS256. HS256 needs `secret`; RS256/ES256 need `publicKey` or `jwks`.
   */
  algorithms?: readonly JwtAlgorithm[] | undefined;
  issuer: string;
  audience: string;
  /**
   * Tokens that also name one of these audiences are refused: a service token on a user endpoint,
   * a user token on `/internal/*`, whatever else they carry.
   */
  refusedAudiences?: readonly string[] | undefined;
  /** The claim carrying the scopes; default `scope`. */
  scopeClaim?: string | undefined;
  /** Default `auto`. */
  scopeFormat?: ScopeFormat | undefined;
  clockToleranceMs: number;
}

/**
 * Verifies bearer tokens: the signature with an allow-list of algorithms (never `alg: none`, never
 * an HMAC made with a public key), `exp`, `nbf`, issuer and audience. Tokens must carry `sub` and
 * `exp`. With a JWKS the key is the published one named by the token's `kid`; an unknown `kid`
 * refetches the set at most once per cooldown, and an unreachable set refuses tokens with
 * UNAUTHORIZED/keys-unavailable (the cause is reported to the key set's `onError`, never to the client).
 */
export class TokenVerifier {
  private readonly secretKey: KeyObject | undefined;
  private readonly publicKey: KeyObject | undefined;
  private readonly keySet: RemoteKeySet | undefined;
  private readonly algorithms: JwtAlgorithm[];

  constructor(private readonly options: VerifierOptions) {
    if (options.publicKey && options.jwks)
      throw new Error('TokenVerifier takes a public key or a JWKS, not both');
    this.secretKey = options.secret ? createSecretKey(Buffer.from(options.secret, 'utf8')) : undefined;
    this.publicKey = options.publicKey ? createPublicKey(options.publicKey) : undefined;
    this.keySet = options.jwks ? new RemoteKeySet(options.jwks) : undefined;
    this.algorithms = options.algorithms?.length ? [...options.algorithms] : this.defaultAlgorithms();
    if (this.algorithms.length === 0) throw new Error('TokenVerifier needs a secret, a public key or a JWKS');
    for (const algorithm of this.algorithms) {
      if (algorithm === 'HS256' ? !this.secretKey : !this.publicKey && !this.keySet)
        throw new Error(`TokenVerifier: ${algorithm} is allowed but no key for it is configured`);
    }
  }

  private defaultAlgorithms(): JwtAlgorithm[] {
    if (this.keySet) return ['RS256', 'ES256'];
    if (this.publicKey) return [this.publicKey.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256'];
    return this.secretKey ? ['HS256'] : [];
  }

  async verify(token: unknown): Promise<Principal> {
    if (typeof token !== 'string' || token.length === 0) throw new AuthError('missing', 'no token was given');
    try {
      decodeProtectedHeader(token);
      decodeJwt(token);
    } catch {
      throw new AuthError('malformed', 'the token is not a JWT');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header, jws) => {
          if (header.alg === 'HS256') return this.secretKey!;
          if (this.keySet) return this.keySet.keyFor(header, jws);
          return this.publicKey!;
        },
        {
          algorithms: this.algorithms,
          issuer: this.options.issuer,
          audience: this.options.audience,
          clockTolerance: Math.floor(this.options.clockToleranceMs / 1000),
        },
      ));
    } catch (error) {
      throw translate(error);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      throw new AuthError('malformed', 'the token has no sub');
    if (typeof payload.exp !== 'number') throw new AuthError('malformed', 'the token has no exp');
    const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    if (audiences.some((audience) => this.options.refusedAudiences?.includes(audience)))
      throw new AuthError('wrong-audience', 'the token is for another audience');
    return {
      uid: payload.sub,
      scopes: scopesOf(payload[this.options.scopeClaim ?? 'scope'], this.options.scopeFormat ?? 'auto'),
      expiresAtMs: payload.exp * 1000,
    };
  }
}

function scopesOf(claim: unknown, format: ScopeFormat): Set<string> {
  if (typeof claim === 'string' && format !== 'array') return new Set(claim.split(/\s+/).filter(Boolean));
  if (Array.isArray(claim) && format !== 'space-separated')
    return new Set(claim.filter((scope): scope is string => typeof scope === 'string' && scope.length > 0));
  return new Set();
}

function translate(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof errors.JWTExpired) return new AuthError('expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new AuthError('wrong-issuer', 'the token is for another issuer');
    if (error.claim === 'aud') return new AuthError('wrong-audience', 'the token is for another audience');
    if (error.claim === 'nbf') return new AuthError('not-yet-valid', 'the token is not valid yet');
    return new AuthError('malformed', `the token's ${error.claim} claim is not valid`);
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return new AuthError('malformed', 'the token is malformed');
  if (error instanceof errors.JWKSNoMatchingKey)
    return new AuthError('bad-signature', 'no published key matches the token (kid)');
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new AuthError('bad-signature', 'the token algorithm is not accepted');
  return new AuthError('bad-signature', 'the token signature is not valid');
}

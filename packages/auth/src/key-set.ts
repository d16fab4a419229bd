import { createRemoteJWKSet, errors, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';
import { AuthError } from './errors.ts';

export interface KeySetOptions {
  /** The JWKS URL of the identity provider. */
  url: string;
  /** Least time between two fetches caused by an unknown `kid` or a failed fetch. */
  cooldownMs: number;
  /** How long a fetched set is used before it is fetched again. */
  cacheMaxAgeMs: number;
  timeoutMs: number;
  /** Told why the set could not be fetched (the client only hears `keys-unavailable`). */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * The signing keys an identity provider publishes at its JWKS URL. Cached for `cacheMaxAgeMs`;
 * a token whose `kid` is not in the cached set refetches it, at most once per `cooldownMs`
 * (tokens with unknown `kid`s meanwhile are refused without a fetch). A failed fetch also
 * starts the cooldown, so an unreachable provider is not asked again for every token.
 */
export class RemoteKeySet {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private failedAtMs: number | undefined;

  constructor(private readonly options: KeySetOptions) {
    this.jwks = createRemoteJWKSet(new URL(options.url), {
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
      timeoutDuration: options.timeoutMs,
    });
  }

  async keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    if (this.failedAtMs !== undefined && Date.now() < this.failedAtMs + this.options.cooldownMs)
      throw unavailable();
    try {
      const key = await this.jwks(header, token);
      this.failedAtMs = undefined;
      return key;
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported ||
        error instanceof errors.JOSEAlgNotAllowed
      )
        throw error;
      this.failedAtMs = Date.now();
      this.options.onError?.(error);
      throw unavailable();
    }
  }
}

function unavailable(): AuthError {
  return new AuthError(
    'keys-unavailable',
    "the identity provider's signing keys could not be fetched; retry later",
  );
}

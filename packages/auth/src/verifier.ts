import { type HandshakeErrorData, TidelineError } from '@tideline/contracts';
import jwt from 'jsonwebtoken';

export type AuthFailureReason = HandshakeErrorData['reason'];

/** A token was refused; `code` is the protocol error code, `reason` says why. */
export class AuthError extends TidelineError {
  override readonly name = 'AuthError';
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super(reason === 'expired' ? 'TOKEN_EXPIRED' : 'UNAUTHORIZED', message);
  }
}

export interface Principal {
  /** The `sub` claim: the user id. */
  uid: string;
  scopes: ReadonlySet<string>;
  /** Expiry as epoch milliseconds. */
  expiresAtMs: number;
}

export interface VerifierOptions {
  /** HS256 secret; mutually exclusive with `publicKey`. */
  secret?: string | undefined;
  /** RS256 public key (PEM). */
  publicKey?: string | undefined;
  issuer: string;
  audience: string;
  clockToleranceMs: number;
}

/**
 * Verifies bearer tokens: the signature with one pinned algorithm (HS256 for a secret, RS256 for
 * a public key; `alg: none` and algorithm confusion are refused), `exp`, `nbf`, issuer and
 * audience. Tokens must carry `sub` and `exp`.
 */
export class TokenVerifier {
  private readonly key: string;
  private readonly algorithms: jwt.Algorithm[];

  constructor(private readonly options: VerifierOptions) {
    if (options.publicKey) {
      this.key = options.publicKey;
      this.algorithms = ['RS256'];
    } else if (options.secret) {
      this.key = options.secret;
      this.algorithms = ['HS256'];
    } else {
      throw new Error('TokenVerifier needs a secret or a public key');
    }
  }

  verify(token: unknown): Principal {
    if (typeof token !== 'string' || token.length === 0) throw new AuthError('missing', 'no token was given');
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string')
      throw new AuthError('malformed', 'the token is not a JWT');
    let payload: jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: this.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: Math.floor(this.options.clockToleranceMs / 1000),
        complete: false,
      }) as jwt.JwtPayload;
    } catch (error) {
      throw translate(error);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      throw new AuthError('malformed', 'the token has no sub');
    if (typeof payload.exp !== 'number') throw new AuthError('malformed', 'the token has no exp');
    const scope = typeof payload['scope'] === 'string' ? payload['scope'] : '';
    return {
      uid: payload.sub,
      scopes: new Set(scope.split(' ').filter(Boolean)),
      expiresAtMs: payload.exp * 1000,
    };
  }
}

function translate(error: unknown): AuthError {
  if (error instanceof jwt.TokenExpiredError) return new AuthError('expired', 'the token has expired');
  if (error instanceof jwt.NotBeforeError)
    return new AuthError('not-yet-valid', 'the token is not valid yet');
  if (error instanceof jwt.JsonWebTokenError) {
    const message = error.message;
    if (message.startsWith('jwt issuer invalid'))
      return new AuthError('wrong-issuer', 'the token is for another issuer');
    if (message.startsWith('jwt audience invalid'))
      return new AuthError('wrong-audience', 'the token is for another audience');
    if (message === 'jwt malformed' || message.startsWith('invalid token'))
      return new AuthError('malformed', 'the token is malformed');
    return new AuthError('bad-signature', `the token signature or algorithm is not accepted (${message})`);
  }
  return new AuthError('malformed', 'the token could not be read');
}

import jwt from 'jsonwebtoken';

export interface SignOptions {
  secret: string;
  sub: string;
  scopes: string[];
  issuer: string;
  audience: string;
  expiresInSeconds: number;
  notBeforeSeconds?: number;
}

/** Signs an HS256 development/test token. Production tokens come from the operator's identity provider. */
export function signToken(options: SignOptions): string {
  return jwt.sign({ scope: options.scopes.join(' ') }, options.secret, {
    algorithm: 'HS256',
    subject: options.sub,
    issuer: options.issuer,
    audience: options.audience,
    expiresIn: options.expiresInSeconds,
    ...(options.notBeforeSeconds !== undefined ? { notBefore: options.notBeforeSeconds } : {}),
  });
}

import { INTERNAL_SCOPE } from '@tideline/contracts';
import { signToken } from './sign.ts';

export interface ServiceTokenOptions {
  /** A token configured by the operator (`TIDELINE_SERVICE_TOKEN`); used as is when set. */
  configured?: string | undefined;
  /** HS256 key to mint a token with when none is configured (TIDELINE_SERVICE_JWT_SECRET, else the user-token secret). */
  secret?: string | undefined;
  service: string;
  issuer: string;
  /** The service audience (TIDELINE_SERVICE_JWT_AUDIENCE), never the user-token audience. */
  audience: string;
  lifetimeSeconds: number;
}

/**
 * The bearer token one service presents to another's `/internal/*` endpoints: the configured one,
 * or a short-lived `internal`-scoped token for the service audience, minted with the service (else
 * the shared) HS256 secret and renewed at half-life. User endpoints refuse it (other audience).
 */
export class ServiceTokenSource {
  private token: string | undefined;
  private renewAtMs = 0;

  constructor(private readonly options: ServiceTokenOptions) {
    if (!options.configured && !options.secret) {
      throw new Error(
        'a service token needs TIDELINE_SERVICE_TOKEN, or TIDELINE_SERVICE_JWT_SECRET or TIDELINE_JWT_SECRET to mint one',
      );
    }
  }

  get(): string {
    if (this.options.configured) return this.options.configured;
    const now = Date.now();
    if (!this.token || now >= this.renewAtMs) {
      this.token = signToken({
        secret: this.options.secret!,
        sub: `service:${this.options.service}`,
        scopes: [INTERNAL_SCOPE],
        issuer: this.options.issuer,
        audience: this.options.audience,
        expiresInSeconds: this.options.lifetimeSeconds,
      });
      this.renewAtMs = now + (this.options.lifetimeSeconds * 1000) / 2;
    }
    return this.token;
  }
}

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface KeyEntry {
  alg: 'RS256' | 'ES256';
  privateKey: SigningKey;
  jwk: JWK;
}

export interface IdpTokenOptions {
  sub: string;
  /** Claims carrying the scopes, as the provider puts them (`{ scope: 'a b' }`, `{ scp: ['a'] }`). */
  claims?: Record<string, unknown>;
  issuer?: string;
  audience?: string | string[];
  expiresInSeconds?: number;
}

/** Issuer and audience of test tokens unless a test names others (the settings' defaults). */
const DEFAULTS = { issuer: 'tideline', audience: 'tideline' };

/**
 * An identity provider for tests: RS256/ES256 key pairs and a JWKS served over HTTP on
 * 127.0.0.1 (port 0), whose published keys the test rotates. Counts JWKS fetches and can answer
 * 503, as an unreachable provider would.
 */
export class TestIdentityProvider implements AsyncDisposable {
  private readonly keys = new Map<string, KeyEntry>();
  private published: string[] = [];
  /** JWKS fetches answered so far (200 or 503). */
  fetches = 0;
  /** While true the JWKS answers 503. */
  down = false;

  private constructor(
    private readonly server: Server,
    readonly jwksUrl: string,
  ) {}

  static async start(): Promise<TestIdentityProvider> {
    let idp: TestIdentityProvider | undefined;
    const server = createServer((request, response) => {
      idp!.fetches++;
      if (idp!.down || request.url !== '/jwks.json') {
        response.writeHead(idp!.down ? 503 : 404).end();
        return;
      }
      const keys = idp!.published.map((kid) => idp!.keys.get(kid)!.jwk);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    idp = new TestIdentityProvider(server, `http://127.0.0.1:${port}/jwks.json`);
    return idp;
  }

  /** Creates a key pair (not yet published) and returns its `kid`. */
  async createKey(alg: 'RS256' | 'ES256'): Promise<string> {
    const kid = `${alg.toLowerCase()}-${randomUUID()}`;
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    this.keys.set(kid, { alg, privateKey, jwk });
    return kid;
  }

  /** The keys the JWKS lists from now on (a rotation: publish the new key, drop the old one). */
  publish(...kids: string[]): void {
    this.published = [...kids];
  }

  /** A token signed with key `kid`, with issuer and audience of the test defaults unless given. */
  sign(kid: string, options: IdpTokenOptions): Promise<string> {
    const key = this.keys.get(kid);
    if (!key) throw new Error(`unknown key ${kid}`);
    return new SignJWT(options.claims ?? {})
      .setProtectedHeader({ alg: key.alg, kid })
      .setSubject(options.sub)
      .setIssuer(options.issuer ?? DEFAULTS.issuer)
      .setAudience(options.audience ?? DEFAULTS.audience)
      .setIssuedAt()
      .setExpirationTime(`${options.expiresInSeconds ?? 600}s`)
      .sign(key.privateKey);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

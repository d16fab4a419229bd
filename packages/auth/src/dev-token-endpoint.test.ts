import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevTokenEndpoint,
  DevTokenEndpointRefused,
  startDevTokenEndpoint,
} from './dev-token-endpoint.ts';
import { TokenVerifier } from './verifier.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const CONSOLE_ORIGIN = 'http://127.0.0.1:5173';
const options = {
  environment: 'test',
  secret,
  issuer: 'tideline',
  audience: 'tideline',
  scopes: ['websites:read', 'nodes:read'],
  ttlSeconds: 5,
  port: 0,
  allowedOrigins: [CONSOLE_ORIGIN],
};

/** A GET with the headers a browser (or an attacker's page) would send; Host may be set freely here. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: any }>((resolve, reject) => {
    const req = request(url, { method, headers }, (response) => {
      let text = '';
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: JSON.parse(text) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('development token endpoint', () => {
  let endpoint: DevTokenEndpoint;
  beforeAll(async () => {
    endpoint = await startDevTokenEndpoint(options);
  });
  afterAll(() => endpoint?.close());

  it('issues - a short-lived token with the development scopes, readable by the console origin', async () => {
    const answer = await get(endpoint.url, { origin: CONSOLE_ORIGIN });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe(CONSOLE_ORIGIN);
    expect(answer.headers['cache-control']).toBe('no-store');
    const verifier = new TokenVerifier({
      secret,
      issuer: 'tideline',
      audience: 'tideline',
      clockToleranceMs: 0,
    });
    const principal = await verifier.verify(answer.body.token);
    expect([...principal.scopes]).toEqual(['websites:read', 'nodes:read']);
    const lifetimeMs = principal.expiresAtMs - Date.now();
    expect(lifetimeMs).toBeGreaterThan(0);
    expect(lifetimeMs).toBeLessThanOrEqual(options.ttlSeconds * 1000);
    expect(Date.parse(answer.body.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('production - outside TIDELINE_ENV=development/test it refuses to start and listens nowhere', async () => {
    for (const environment of ['production', 'staging', ''])
      await expect(startDevTokenEndpoint({ ...options, environment })).rejects.toBeInstanceOf(
        DevTokenEndpointRefused,
      );
  });

  it('listens - on the loopback interface only', () => {
    expect(new URL(endpoint.url).hostname).toBe('127.0.0.1');
  });

  it('cross-site - a page from another origin gets no token and no CORS grant', async () => {
    const answer = await get(endpoint.url, { origin: 'https://evil.example' });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.stringify(answer.body)).not.toMatch(/eyJ/);
  });

  it('DNS rebinding - a request addressed to a non-loopback host name gets no token', async () => {
    const answer = await get(endpoint.url, { host: 'rebind.evil.example' });
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body)).not.toMatch(/eyJ/);
  });

  it('other paths and methods - refused with the one error body, no token', async () => {
    expect((await get(endpoint.url.replace('/token', '/other'))).body.error.code).toBe('NOT_FOUND');
    const posted = await get(endpoint.url, {}, 'POST');
    expect(posted.status).toBe(405);
    expect(posted.body.error.code).toBe('BAD_REQUEST');
  });
});

import { request } from 'node:http';
import { connect } from 'node:net';
import { TokenVerifier } from '@tideline/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevTokenEndpoint,
  DevTokenEndpointRefused,
  startDevTokenEndpoint,
} from './dev-token-endpoint.ts';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Sends raw bytes and returns everything the endpoint wrote before it closed the connection. */
function raw(url: string, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1', () => socket.write(bytes));
    let out = '';
    socket.on('data', (chunk) => {
      out += chunk.toString();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(out));
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
    expect(answer.body).toEqual({
      error: { code: 'FORBIDDEN', message: expect.any(String), requestId: answer.headers['x-request-id'] },
    });
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

  it('request id - every answer carries x-request-id, and every refusal carries the same id in its body', async () => {
    const answers = [
      await get(endpoint.url, { origin: CONSOLE_ORIGIN }), // 200
      await get(endpoint.url, { host: 'rebind.evil.example' }), // 403, host
      await get(endpoint.url, { origin: 'https://evil.example' }), // 403, origin
      await get(endpoint.url.replace('/token', '/other')), // 404
      await get(endpoint.url, {}, 'POST'), // 405
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 403, 403, 404, 405]);
    for (const answer of answers) {
      const header = answer.headers['x-request-id'];
      expect(header, String(answer.status)).toMatch(UUID);
      if (answer.status !== 200) expect(answer.body.error.requestId, String(answer.status)).toBe(header);
    }
    // The console's page may read it (CORS), to quote it when a token cannot be had.
    expect(answers[0]!.headers['access-control-expose-headers']).toBe('x-request-id');
  });

  it('request id - a safe incoming x-request-id is kept; one carrying JSON, quotes or spaces is replaced', async () => {
    const kept = await get(endpoint.url, { 'x-request-id': 'edge-7f3a.b_9-1' });
    expect(kept.status).toBe(200);
    expect(kept.headers['x-request-id']).toBe('edge-7f3a.b_9-1');
    const refused = await get(endpoint.url.replace('/token', '/other'), { 'x-request-id': 'console-42' });
    expect(refused.headers['x-request-id']).toBe('console-42');
    expect(refused.body).toEqual({
      error: { code: 'NOT_FOUND', message: 'GET /token', requestId: 'console-42' },
    });
    for (const hostile of ['abc","level":60,"msg":"forged', 'a b', 'x'.repeat(129)]) {
      const answer = await get(endpoint.url, { 'x-request-id': hostile });
      expect(answer.headers['x-request-id'], hostile).toMatch(UUID);
    }
  });

  it('request id - a request that is not HTTP gets 400 with the error body and a fresh id', async () => {
    const text = await raw(endpoint.url, 'NOT HTTP AT ALL\r\nX-Request-Id: smuggled\r\n\r\n');
    expect(Number(text.slice(9, 12))).toBe(400);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { requestId: string } };
    expect(body).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        requestId: expect.stringMatching(UUID),
      },
    });
    expect(/^x-request-id: (.*)$/im.exec(text)?.[1]).toBe(body.error.requestId);
  });
});

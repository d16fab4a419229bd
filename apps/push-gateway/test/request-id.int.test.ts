import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningPushGateway } from '../src/service.ts';
import { TestStack } from './support/stack.ts';

// The request-id rule itself (kept when safe, else generated) is proven in
// packages/runtime/src/request-id.test.ts; here: the answers Socket.IO's engine gives itself.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HANDSHAKE = '/socket.io/?EIO=4&transport=polling';

const stack = new TestStack({ TIDELINE_GATEWAY_CORS_ORIGINS: 'http://app.test' });
let gateway: RunningPushGateway;

beforeAll(async () => {
  gateway = await stack.gateway();
});

afterAll(async () => {
  await stack[Symbol.asyncDispose]();
});

/** A Socket.IO upgrade's answer, as `ws` received it: the `101`'s headers (or the refusal's). */
function upgradeAnswer(path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}${path}`, { headers });
    ws.once('upgrade', (response) => {
      resolve(response);
      ws.terminate();
    });
    ws.once('unexpected-response', (_request, response) => {
      resolve(response);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** A request on node:http, so any method and header can be sent; resolves with the answer and its body. */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${gateway.url}${path}`, { method, headers }, (answer) => {
      let text = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => {
        text += chunk;
      });
      answer.on('end', () =>
        resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: text }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('request ids of the Socket.IO answers', () => {
  it('request id - the long-polling handshake answers 200 with x-request-id: generated, or the caller’s safe one', async () => {
    const generated = await send('GET', HANDSHAKE);
    expect(generated.status).toBe(200);
    expect(generated.body).toMatch(/^0\{"sid":/);
    expect(generated.headers['x-request-id']).toMatch(UUID);

    const kept = await send('GET', HANDSHAKE, { 'x-request-id': 'edge-7f3a.b_9-1' });
    expect(kept.status).toBe(200);
    expect(kept.headers['x-request-id']).toBe('edge-7f3a.b_9-1');

    const replaced = await send('GET', HANDSHAKE, { 'x-request-id': 'abc","level":60,"msg":"forged' });
    expect(replaced.status).toBe(200);
    expect(replaced.headers['x-request-id']).toMatch(UUID);
  });

  it('request id - the later long-polling requests of a session (POST and GET) carry it too', async () => {
    const handshake = await send('GET', HANDSHAKE);
    const { sid } = JSON.parse(handshake.body.slice(1)) as { sid: string };
    const posted = await send(
      'POST',
      `${HANDSHAKE}&sid=${sid}`,
      { 'content-type': 'text/plain;charset=UTF-8', 'x-request-id': 'post-1' },
      '40{"token":"not a token"}',
    );
    expect(posted.status).toBe(200);
    expect(posted.headers['x-request-id']).toBe('post-1');
    const polled = await send('GET', `${HANDSHAKE}&sid=${sid}`, { 'x-request-id': 'poll-1' });
    expect(polled.status).toBe(200);
    expect(polled.headers['x-request-id']).toBe('poll-1');
  });

  it('request id - the 101 of a WebSocket upgrade carries x-request-id: generated, or the caller’s safe one', async () => {
    const generated = await upgradeAnswer('/socket.io/?EIO=4&transport=websocket');
    expect(generated.statusCode).toBe(101);
    expect(generated.headers['x-request-id']).toMatch(UUID);

    const kept = await upgradeAnswer('/socket.io/?EIO=4&transport=websocket', { 'x-request-id': 'ws-42' });
    expect(kept.statusCode).toBe(101);
    expect(kept.headers['x-request-id']).toBe('ws-42');

    const replaced = await upgradeAnswer('/socket.io/?EIO=4&transport=websocket', { 'x-request-id': 'a b' });
    expect(replaced.statusCode).toBe(101);
    expect(replaced.headers['x-request-id']).toMatch(UUID);
  });

  it('request id - a CORS preflight and a refusal carry it, the refusal also in its error body', async () => {
    const preflight = await send('OPTIONS', HANDSHAKE, {
      origin: 'http://app.test',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'x-custom',
      'x-request-id': 'preflight-1',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://app.test');
    expect(preflight.headers['x-request-id']).toBe('preflight-1');

    for (const path of [
      '/socket.io/?EIO=4&transport=carrier-pigeon',
      '/socket.io/?EIO=99&transport=polling',
    ]) {
      const refusal = await send('GET', path);
      expect(refusal.status, path).toBe(400);
      const header = refusal.headers['x-request-id'];
      expect(header, path).toMatch(UUID);
      expect((JSON.parse(refusal.body) as { error: { requestId: string } }).error.requestId, path).toBe(
        header,
      );
    }
    const kept = await send('GET', '/socket.io/?EIO=4&transport=polling&sid=forged', {
      'x-request-id': 'r-1',
    });
    expect(kept.status).toBe(400);
    expect(kept.headers['x-request-id']).toBe('r-1');
    expect(JSON.parse(kept.body)).toMatchObject({ error: { code: 'VALIDATION_FAILED', requestId: 'r-1' } });

    const refusedUpgrade = await upgradeAnswer('/socket.io/?EIO=4&transport=websocket&sid=forged', {
      'x-request-id': 'u-1',
    });
    expect(refusedUpgrade.statusCode).toBe(400);
    expect(refusedUpgrade.headers['x-request-id']).toBe('u-1');
  });
});

import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpError } from './http-errors.ts';
import { isSafeRequestId, REQUEST_ID_MAX_LENGTH, rawRequestIdOf } from './request-id.ts';
import { runService } from './service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function sink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

/** A service with a route that logs twice and one that fails, logging at info into `lines`. */
async function probe() {
  const { lines, stream } = sink();
  const service = await runService(
    {
      name: 'probe',
      settings: {},
      listen: () => ({ port: 0, host: '127.0.0.1' }),
      bodyLimitBytes: 1024,
      start: async ({ http }) => {
        http.post('/work', async (request) => {
          request.log.info('working');
          request.log.info('still working');
          return { ok: true };
        });
        http.get('/refuse', async (request) => {
          request.log.info('refusing');
          throw new HttpError('CONFLICT', 'taken');
        });
        http.get('/boom', async () => {
          throw new Error('boom');
        });
      },
    },
    { source: { env: { TIDELINE_LOG_LEVEL: 'info' } }, logDestination: stream },
  );
  return Object.assign(service, { lines });
}

/** Sends raw bytes and returns the answer's status, headers and body. */
function raw(port: number, request: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let out = '';
    socket.on('data', (chunk) => {
      out += chunk.toString();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const split = out.indexOf('\r\n\r\n');
      resolve({ status: Number(out.slice(9, 12)), headers: out.slice(0, split), body: out.slice(split + 4) });
    });
  });
}

describe('request ids', () => {
  it('request id - every answer carries x-request-id, and an error body carries the same id', async () => {
    await using service = await probe();
    const ok = await fetch(`${service.url}/healthz`);
    expect(ok.headers.get('x-request-id')).toMatch(UUID);

    const refusals = [
      fetch(`${service.url}/nothing-here`), // 404 from the framework
      fetch(`${service.url}/refuse`), // a coded error
      fetch(`${service.url}/boom`), // INTERNAL
      fetch(`${service.url}/work`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: '<x/>',
      }), // unsupported media type
      fetch(`${service.url}/work`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"not json',
      }),
      fetch(`${service.url}/work`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ big: 'x'.repeat(4096) }),
      }), // body too large
      fetch(`${service.url}/%E0%A4%A`), // malformed %-escape, answered by the router
    ];
    const statuses: number[] = [];
    for (const answer of await Promise.all(refusals)) {
      statuses.push(answer.status);
      const header = answer.headers.get('x-request-id');
      expect(header).toMatch(UUID);
      const body = (await answer.json()) as { error: { requestId: string } };
      expect(body.error?.requestId, `${answer.status} ${JSON.stringify(body)}`).toBe(header);
    }
    expect(statuses).toEqual([404, 409, 500, 415, 400, 413, 400]);
  });

  it('request id - a safe incoming x-request-id is kept: header, error body and every log line of the request', async () => {
    await using service = await probe();
    const answer = await fetch(`${service.url}/refuse`, { headers: { 'x-request-id': 'edge-7f3a.b_9-1' } });
    expect(answer.headers.get('x-request-id')).toBe('edge-7f3a.b_9-1');
    expect(((await answer.json()) as { error: { requestId: string } }).error.requestId).toBe(
      'edge-7f3a.b_9-1',
    );
    const work = await fetch(`${service.url}/work`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'work-42' },
      body: '{}',
    });
    expect(work.status).toBe(200);
    const mine = service.lines.filter((l) => l['msg'] === 'working' || l['msg'] === 'still working');
    expect(mine.map((l) => l['reqId'])).toEqual(['work-42', 'work-42']);
    expect(service.lines.find((l) => l['msg'] === 'refusing')?.['reqId']).toBe('edge-7f3a.b_9-1');
  });

  it('log injection - a request id carrying JSON, quotes, escapes or spaces is replaced by a generated one', async () => {
    await using service = await probe();
    const hostile = [
      'abc","level":60,"msg":"forged',
      '<script>alert(1)</script>',
      'a\tb',
      'a b',
      'x'.repeat(REQUEST_ID_MAX_LENGTH + 1),
      '../../etc/passwd',
    ];
    for (const id of hostile) {
      const answer = await raw(
        service.port,
        `POST /work HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n{}`,
      );
      expect(answer.status, id).toBe(200);
      const given = /^x-request-id: (.*)$/im.exec(answer.headers)?.[1];
      expect(given, id).toMatch(UUID);
    }
    const reqIds = service.lines.filter((l) => l['msg'] === 'working').map((l) => l['reqId']);
    expect(reqIds).toHaveLength(hostile.length);
    for (const reqId of reqIds) expect(reqId).toMatch(UUID);
    expect(service.lines.some((l) => l['msg'] === 'forged' || l['level'] === 60)).toBe(false);
  });

  it('header smuggling - a request id with CR/LF never reaches a response header', async () => {
    await using service = await probe();
    // Node's parser refuses the request itself; the refusal carries a fresh id, not the smuggled one.
    const answer = await raw(
      service.port,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rSet-Cookie: stolen=1\r\n\r\n',
    );
    expect(answer.status).toBe(400);
    expect(answer.headers).not.toMatch(/set-cookie/i);
    const body = JSON.parse(answer.body) as { error: { requestId: string } };
    expect(body.error.requestId).toMatch(UUID);
    expect(/^x-request-id: (.*)$/im.exec(answer.headers)?.[1]).toBe(body.error.requestId);
    // The rule itself.
    expect(isSafeRequestId('a\r\nSet-Cookie: x')).toBe(false);
    expect(isSafeRequestId('abc%0d%0aSet-Cookie:x')).toBe(false);
    expect(isSafeRequestId('0af7651916cd43dd8448eb211c80319c')).toBe(true);
  });

  it('request id - outside Fastify, one request keeps one id however often it is asked for', () => {
    const generated = { headers: {} };
    expect(rawRequestIdOf(generated)).toMatch(UUID);
    expect(rawRequestIdOf(generated)).toBe(rawRequestIdOf(generated));
    expect(rawRequestIdOf({ headers: {} })).not.toBe(rawRequestIdOf(generated));
    expect(rawRequestIdOf({ headers: { 'x-request-id': 'edge-1' } })).toBe('edge-1');
    expect(rawRequestIdOf({ headers: { 'x-request-id': 'a b' } })).toMatch(UUID);
  });
});

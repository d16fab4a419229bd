import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withErrorBodyOnSocket } from './http-raw-errors.ts';
import { runService } from './service.ts';

/** Sends `request` as raw bytes on a connection of its own and returns everything the server wrote. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let out = '';
    socket.on('data', (chunk) => {
      out += chunk.toString();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(out));
  });
}

function answerOf(text: string): { status: number; body: unknown } {
  const split = text.indexOf('\r\n\r\n');
  return { status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(split + 4)) };
}

const errorBody = (code: string) => ({
  error: { code, message: expect.any(String), requestId: expect.any(String) },
});

async function probe() {
  return runService(
    {
      name: 'probe',
      settings: {},
      listen: () => ({ port: 0, host: '127.0.0.1' }),
      start: async ({ http }) => {
        http.get('/nodes/:name', async (request) => ({
          length: (request.params as { name: string }).name.length,
        }));
        http.post('/echo', async (request) => ({ body: request.body }));
      },
    },
    { source: { env: { TIDELINE_LOG_LEVEL: 'silent' } } },
  );
}

describe('answers the HTTP framework gives itself carry the error body', () => {
  it('http - an oversized header gets 431 with the error body', async () => {
    await using service = await probe();
    const text = await raw(
      service.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answerOf(text)).toEqual({ status: 431, body: errorBody('VALIDATION_FAILED') });
  });

  it('http - a request line that is not HTTP gets 400 with the error body', async () => {
    await using service = await probe();
    expect(answerOf(await raw(service.port, 'NOT HTTP AT ALL\r\n\r\n'))).toEqual({
      status: 400,
      body: errorBody('VALIDATION_FAILED'),
    });
  });

  it('http - a malformed percent-escape in the path gets 400 with the error body', async () => {
    await using service = await probe();
    const response = await fetch(`${service.url}/nodes/%zz`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody('VALIDATION_FAILED'));
  });

  it('http - a 253-character path parameter is routed; a longer one gets 414 with the error body', async () => {
    await using service = await probe();
    expect(await (await fetch(`${service.url}/nodes/${'n'.repeat(253)}`)).json()).toEqual({ length: 253 });
    const response = await fetch(`${service.url}/nodes/${'n'.repeat(254)}`);
    expect(response.status).toBe(414);
    expect(await response.json()).toEqual(errorBody('VALIDATION_FAILED'));
  });

  it('http - an Expect header other than 100-continue gets 417 with the error body', async () => {
    await using service = await probe();
    const text = await raw(service.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n');
    expect(answerOf(text)).toEqual({ status: 417, body: errorBody('VALIDATION_FAILED') });
  });

  it('http - a 5 MB body is refused 413 with the error body before it is read', async () => {
    await using service = await probe();
    // Only the headers are sent: the answer cannot wait for the 5 MB.
    const text = await raw(
      service.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{"a":',
    );
    expect(answerOf(text)).toEqual({
      status: 413,
      body: {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'the body is larger than 1048576 bytes',
          fields: [expect.any(Object)],
          requestId: expect.any(String),
        },
      },
    });
  });

  it('http - a form-encoded, text/plain or untyped body is refused 415 with the error body, not parsed', async () => {
    await using service = await probe();
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', 'website_id=1'],
      ['text/plain', '{"website_id":1}'],
      ['text/plain;charset=UTF-8', 'website_id'],
      ['application/xml', '<website_id>1</website_id>'],
      [undefined, '{"website_id":1}'],
    ] as const) {
      const response = await fetch(`${service.url}/echo`, {
        method: 'POST',
        ...(type ? { headers: { 'content-type': type } } : {}),
        body: type ? body : new TextEncoder().encode(body),
      });
      expect(response.status, String(type)).toBe(415);
      expect(await response.json()).toMatchObject({
        error: { code: 'VALIDATION_FAILED', message: 'send the body as application/json' },
      });
    }
    const json = await fetch(`${service.url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"website_id":1}',
    });
    expect(await json.json()).toEqual({ body: { website_id: 1 } });
  });

  it('prototype poisoning - a JSON body with __proto__ or constructor.prototype is refused 400 naming the key, not as invalid JSON', async () => {
    await using service = await probe();
    const post = async (body: string) => {
      const response = await fetch(`${service.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, body: (await response.json()) as { error: Record<string, unknown> } };
    };
    for (const [body, path, name] of [
      ['{"website_id":2,"__proto__":{"x":1}}', '__proto__', '__proto__'],
      ['{"a":[{"\\u005f_proto__":{"x":1}}]}', 'a.0.__proto__', '__proto__'],
      [
        '{"website_id":2,"constructor":{"prototype":{"x":1}}}',
        'constructor.prototype',
        'constructor.prototype',
      ],
    ] as const) {
      const answer = await post(body);
      expect(answer.status, body).toBe(400);
      expect(answer.body.error).toEqual({
        code: 'VALIDATION_FAILED',
        message: `the body may not contain the key ${name}`,
        fields: [{ path, message: `${name} is not allowed in a body` }],
        requestId: expect.any(String),
      });
    }
    const depth = 100_000;
    const started = performance.now();
    const deep = await post(`${'{"a":'.repeat(depth)}{"__proto__":{}}${'}'.repeat(depth)}`);
    expect(deep.body.error['fields']).toEqual([
      { path: `${'a.'.repeat(depth)}__proto__`, message: '__proto__ is not allowed in a body' },
    ]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect((await post('{"website_id": ')).body.error['message']).toBe('the body is not valid JSON');
    expect((await post('{"constructor":{"name":"x"}}')).body).toEqual({
      body: { constructor: { name: 'x' } },
    });
  });
});

describe('withErrorBodyOnSocket', () => {
  function written(socket: PassThrough): Promise<string> {
    return new Promise((resolve) => {
      let out = '';
      socket.on('data', (chunk) => {
        out += chunk.toString();
      });
      socket.on('end', () => resolve(out));
    });
  }

  it('upgrade - a library refusal written on the socket leaves as the error body with its text', async () => {
    const socket = new PassThrough();
    const out = written(socket);
    withErrorBodyOnSocket(socket, 'req-1').end(
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\n\r\nMissing or invalid Sec-WebSocket-Key header',
    );
    expect(answerOf(await out)).toEqual({
      status: 400,
      body: {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'Missing or invalid Sec-WebSocket-Key header',
          requestId: 'req-1',
        },
      },
    });
  });

  it('upgrade - a 101 and the frames after it pass untouched', async () => {
    const socket = new PassThrough();
    const out = written(socket);
    const wrapped = withErrorBodyOnSocket(socket, 'req-1');
    wrapped.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
    // After the status line the socket has its own methods again: nothing wraps a WebSocket's frames.
    expect(Object.hasOwn(socket, 'write')).toBe(false);
    expect(Object.hasOwn(socket, 'end')).toBe(false);
    expect(socket.write).toBe(PassThrough.prototype.write);
    expect(Object.getPrototypeOf(socket)).toBe(PassThrough.prototype);
    wrapped.end('HTTP/1.1 400 looks like an answer but is a frame');
    expect(await out).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 400 looks like an answer but is a frame',
    );
  });

  it('upgrade - a socket with write/end of its own is rewritten too, and gets them back after the status line', async () => {
    const socket = new PassThrough();
    const ownWrite = socket.write.bind(socket);
    const ownEnd = socket.end.bind(socket);
    socket.write = ownWrite;
    socket.end = ownEnd;
    const out = written(socket);
    const wrapped = withErrorBodyOnSocket(socket, 'req-2');
    wrapped.end('HTTP/1.1 400 Bad Request\r\n\r\nUnsupported WebSocket version');
    expect(socket.write).toBe(ownWrite);
    expect(socket.end).toBe(ownEnd);
    expect(answerOf(await out)).toEqual({
      status: 400,
      body: {
        error: { code: 'VALIDATION_FAILED', message: 'Unsupported WebSocket version', requestId: 'req-2' },
      },
    });
  });
});

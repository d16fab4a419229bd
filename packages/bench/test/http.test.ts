import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BenchHttpClient } from '../src/http.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A loopback server answering `handler`; its URL. */
async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('BenchHttpClient', () => {
  it('sends method, headers and body, and answers status, headers and the whole body', async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-seen': req.headers['x-token'] ?? '' });
        res.end(JSON.stringify({ method: req.method, path: req.url, body: JSON.parse(body) }));
      });
    });
    const client = new BenchHttpClient({ maxSockets: 2 });
    try {
      const answer = await client.json<{ method: string; path: string; body: unknown }>(`${url}/a/b`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-token': 't1' },
        body: JSON.stringify({ n: 1 }),
      });
      expect(answer).toEqual({ status: 201, body: { method: 'POST', path: '/a/b', body: { n: 1 } } });
      const raw = await client.request(`${url}/c`, {
        method: 'POST',
        body: '{}',
        headers: { 'x-token': 't2' },
      });
      expect(raw.headers['x-seen']).toBe('t2');
    } finally {
      client.close();
    }
  });

  it('reuses one kept-alive connection for sequential requests', async () => {
    const ports = new Set<number>();
    const url = await serve((req, res) => {
      ports.add(req.socket.remotePort!);
      res.end('ok');
    });
    const client = new BenchHttpClient({ maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) expect((await client.request(url)).body).toBe('ok');
      expect(ports.size).toBe(1);
    } finally {
      client.close();
    }
  });

  it('sends again, on a new connection, a request whose kept-alive connection the server dropped as it was reused', async () => {
    let requests = 0;
    const url = await serve((req, res) => {
      requests++;
      // The second request arrives on the first one's kept-alive connection: dropped unanswered.
      if (requests === 2) req.socket.destroy();
      else res.end(String(requests));
    });
    const client = new BenchHttpClient({ maxSockets: 1 });
    try {
      expect((await client.request(url)).body).toBe('1');
      expect((await client.request(url)).body).toBe('3');
      expect(requests).toBe(3);
    } finally {
      client.close();
    }
  });

  it('does not send again a request whose fresh connection was dropped', async () => {
    let requests = 0;
    const url = await serve((req) => {
      requests++;
      req.socket.destroy();
    });
    const client = new BenchHttpClient({ maxSockets: 1 });
    try {
      await expect(client.request(url)).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(requests).toBe(1);
    } finally {
      client.close();
    }
  });

  it('fails with the error of a fresh connection that could not be made', async () => {
    const url = await serve((_req, res) => res.end());
    const port = new URL(url).port;
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const client = new BenchHttpClient({ maxSockets: 1 });
    try {
      await expect(client.request(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    } finally {
      client.close();
    }
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebsitesSnapshot } from '@tideline/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceNotFoundError, SourceUnavailableError } from '../domain/errors.ts';
import { InternalHttpClient } from './internal-http.ts';

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

function client(baseUrl: string, timeoutMs = 1_000) {
  const outcomes: string[] = [];
  return {
    outcomes,
    http: new InternalHttpClient({
      baseUrl,
      token: () => 'service-token',
      timeoutMs,
      onResponse: (_p, o) => outcomes.push(o),
    }),
  };
}

const snapshot = { items: [], total: 0, version: 'v1', lastEventId: 7 };

describe('InternalHttpClient', () => {
  it('sends the bearer token and the query, and returns the validated answer', async () => {
    let seen: IncomingMessage | undefined;
    const url = await serve((req, res) => {
      seen = req;
      json(res, 200, snapshot);
    });
    const { http, outcomes } = client(url);
    expect(
      await http.get('/internal/v1/websites/snapshot', { after: 3, version: undefined }, WebsitesSnapshot),
    ).toEqual(snapshot);
    expect(seen?.headers.authorization).toBe('Bearer service-token');
    expect(seen?.url).toBe('/internal/v1/websites/snapshot?after=3');
    expect(outcomes).toEqual(['ok']);
  });

  it('404 is SourceNotFoundError; 5xx, garbage, contract mismatch, timeout and refusal are SourceUnavailableError', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/missing') return json(res, 404, { error: { code: 'NOT_FOUND' } });
      if (req.url === '/down') return json(res, 503, { error: { code: 'UNAVAILABLE' } });
      if (req.url === '/garbage') return res.writeHead(200).end('<html>');
      if (req.url === '/shape') return json(res, 200, { items: 'no' });
      if (req.url === '/slow') return void setTimeout(() => json(res, 200, snapshot), 500);
    });
    const { http } = client(url, 200);
    await expect(http.get('/missing', {}, WebsitesSnapshot)).rejects.toBeInstanceOf(SourceNotFoundError);
    await expect(http.get('/down', {}, WebsitesSnapshot)).rejects.toThrow(/answered 503/);
    await expect(http.get('/garbage', {}, WebsitesSnapshot)).rejects.toBeInstanceOf(SourceUnavailableError);
    await expect(http.get('/shape', {}, WebsitesSnapshot)).rejects.toThrow(/outside its contract: items/);
    await expect(http.get('/slow', {}, WebsitesSnapshot)).rejects.toBeInstanceOf(SourceUnavailableError);
    const closed = await serve(() => {});
    servers.pop()!.close();
    await expect(client(closed).http.get('/', {}, WebsitesSnapshot)).rejects.toBeInstanceOf(
      SourceUnavailableError,
    );
  });
});

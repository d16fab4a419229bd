/**
 * The baseline: a plain Socket.IO server with the same Redis adapter and no Tideline logic —
 * no auth, no feeds, no ordering — that broadcasts what it is given to everyone in room
 * `websites`, and answers `snapshot` with the snapshot it was given (`POST /snapshot`), one
 * `socket.emit` each, the way a plain server serves a snapshot; `GET /sockets` answers how many
 * connections it holds. Run as a child process by run.ts;
 * prints `{"port":N}` once listening.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const redisUrl = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const key = process.env['BENCH_ADAPTER_KEY'] ?? 'bench-plain';
const pub = new Redis(redisUrl);
const sub = new Redis(redisUrl);

async function body(request: import('node:http').IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

let snapshot: unknown = null;
const http = createServer(async (request, response) => {
  if (request.method === 'POST' && request.url === '/broadcast') {
    const { event, payloads } = (await body(request)) as { event: string; payloads: unknown[] };
    for (const payload of payloads) io.to('websites').emit(event, payload);
    response.writeHead(204).end();
    return;
  }
  if (request.method === 'GET' && request.url === '/sockets') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(String(io.engine.clientsCount));
    return;
  }
  if (request.method === 'POST' && request.url === '/snapshot') {
    snapshot = await body(request);
    response.writeHead(204).end();
    return;
  }
  response.writeHead(404).end();
});
const io = new Server(http, {
  path: '/socket.io/',
  serveClient: false,
  adapter: createAdapter(pub, sub, { key }),
});
io.on('connection', (socket) => {
  void socket.join('websites');
  socket.on('snapshot', (ack: () => void) => {
    socket.emit('websites:initial', snapshot);
    ack();
  });
});
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});

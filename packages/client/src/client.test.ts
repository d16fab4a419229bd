import type { Ack, NodeView, WebsiteItem } from '@tideline/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, type TidelineClient } from './client.ts';
import { FakeSocket, fakeIo } from './testing/fake-socket.ts';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const clients: TidelineClient[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function connected() {
  const socket = new FakeSocket();
  const client = connect({ url: 'http://gateway.test', token: 't', io: (() => socket) as never });
  clients.push(client);
  socket.connected = true;
  socket.fire('connect');
  return { socket, client };
}

function node(name: string): NodeView {
  return { name } as NodeView;
}

describe('TidelineClient', () => {
  it('nodes:removed - drops the cluster replica, reports a removed change, and a later nodes() subscribes afresh', async () => {
    const { socket, client } = await connected();
    const nodes = client.nodes('prod');
    await flush();
    socket.fire('nodes:initial', { cluster: 'prod', items: [node('n1')], total: 1, lastEventId: 3 });
    const changes: string[] = [];
    nodes.onChange((change) => changes.push(`${change.kind}:${change.eventId}`));
    socket.fire('nodes:removed', { cluster: 'prod', eventId: 4 });
    socket.fire('nodes:update', {
      cluster: 'prod',
      eventId: 5,
      type: 'added',
      data: node('n2'),
      changed: [],
    });
    expect(changes).toEqual(['removed:4']);
    expect(nodes.items()).toEqual([]);
    expect(nodes.position).toBeUndefined();
    expect(nodes.state).toBe('idle');

    const again = client.nodes('prod');
    expect(again).not.toBe(nodes);
    await flush();
    expect(socket.sent.filter((s) => s.event === 'subscribe:nodes').map((s) => s.payload)).toEqual([
      { cluster: 'prod' },
      { cluster: 'prod' },
    ]);
  });

  it('request:websites - a resume sends the position as lastEventId and version on the wire', async () => {
    const { socket, client } = await connected();
    const websites = client.websites();
    await flush();
    socket.fire('websites:initial', {
      items: [] as WebsiteItem[],
      total: 0,
      version: 'v1',
      lastEventId: 5,
    });
    expect(websites.position).toEqual({ eventId: 5, epoch: 'v1' });
    // An update past a gap makes the collection ask for a replay from its position.
    socket.fire('websites:update', { eventId: 7, type: 'delete', data: { website_id: 1 } });
    await flush();
    expect(socket.sent.filter((s) => s.event === 'request:websites').map((s) => s.payload)).toEqual([
      {},
      { lastEventId: 5, version: 'v1' },
    ]);
  });

  it('SLOW_CONSUMER - a client the gateway closes for reading too slowly ignores what follows, reconnects with backoff and resumes from its position', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { io, opened } = fakeIo();
      const client = connect({
        url: 'http://gateway.test',
        token: 't',
        reconnectDelayMs: { initial: 1_000, max: 8_000 },
        io,
      });
      clients.push(client);
      const first = opened[0]!;
      first.connected = true;
      first.fire('connect');
      const websites = client.websites();
      await flush();
      first.fire('websites:initial', { items: [] as WebsiteItem[], total: 0, version: 'v1', lastEventId: 5 });
      first.fire('request:error', {
        event: 'connection',
        code: 'SLOW_CONSUMER',
        message: 'too slow',
      });
      // Anything the gateway had queued behind its last message is not applied.
      first.fire('websites:update', { eventId: 7, type: 'delete', data: { website_id: 1 } });
      expect(client.status).toBe('offline');
      expect(websites.position).toEqual({ eventId: 5, epoch: 'v1' });
      // Not at once: after a backoff delay (at least half the first delay, with jitter).
      vi.advanceTimersByTime(499);
      expect(opened).toHaveLength(1);
      vi.advanceTimersByTime(2_000);
      expect(opened).toHaveLength(2);
      const second = opened[1]!;
      second.connected = true;
      second.fire('connect');
      await Promise.resolve();
      expect(second.sent.filter((s) => s.event === 'request:websites').map((s) => s.payload)).toEqual([
        { lastEventId: 5, version: 'v1' },
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('TOO_MANY_CONNECTIONS - a refused handshake waits the longest backoff delay before trying again, not a hot loop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { io, opened } = fakeIo();
      const client = connect({
        url: 'http://gateway.test',
        token: 't',
        reconnectDelayMs: { initial: 1_000, max: 8_000 },
        io,
      });
      clients.push(client);
      const refused = Object.assign(new Error('too many sockets'), {
        data: { code: 'TOO_MANY_CONNECTIONS', error: { code: 'TOO_MANY_CONNECTIONS', message: 'close one' } },
      });
      opened[0]!.fire('connect_error', refused);
      // With jitter the delay is between half the cap and the cap: never the first (1 s) delay.
      vi.advanceTimersByTime(3_999);
      expect(opened).toHaveLength(1);
      vi.advanceTimersByTime(4_001);
      expect(opened).toHaveLength(2);
      expect(client.status).not.toBe('live');
    } finally {
      vi.useRealTimers();
    }
  });

  it('RATE_LIMITED - a sync refused with retryAfterMs is sent again after it, and the collection goes live', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const socket = new FakeSocket();
      const answers: Ack[] = [
        { ok: false, event: 'request:websites', code: 'RATE_LIMITED', message: 'later', retryAfterMs: 3_000 },
        { ok: true },
      ];
      socket.timeout = () => ({
        emitWithAck: async (event: string, payload: unknown) => {
          socket.sent.push({ event, payload });
          return answers.shift()!;
        },
      });
      const client = connect({ url: 'http://gateway.test', token: 't', io: (() => socket) as never });
      clients.push(client);
      const errors: string[] = [];
      client.onError((error) => errors.push(error.code));
      socket.connected = true;
      socket.fire('connect');
      client.websites();
      await vi.advanceTimersByTimeAsync(2_999);
      expect(socket.sent.filter((s) => s.event === 'request:websites')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(socket.sent.filter((s) => s.event === 'request:websites')).toHaveLength(2);
      expect(errors).toEqual(['RATE_LIMITED']);
    } finally {
      vi.useRealTimers();
    }
  });
});

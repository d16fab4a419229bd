import WebSocket from 'ws';

/** One Socket.IO event as it came over the wire. */
export interface RawEvent {
  name: string;
  data: unknown;
}

/**
 * A bare Engine.IO (v4) / Socket.IO client over one WebSocket, speaking the frames itself: no
 * reconnect, no buffering, nothing done behind the test's back. It records every frame and
 * event it reads, answers the gateway's pings while it reads, and sends events with acks.
 */
export class RawClient {
  readonly frames: string[] = [];
  readonly events: RawEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly acks = new Map<number, (args: unknown[]) => void>();
  private nextAck = 0;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => this.onFrame(data.toString()));
  }

  /** Opens the WebSocket and the Socket.IO connection with `token`; resolves on `connected`. */
  static async connect(baseUrl: string, token: string, timeoutMs = 10_000): Promise<RawClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const client = new RawClient(new WebSocket(url));
    client.ws.once('message', () => client.ws.send(`40${JSON.stringify({ token })}`));
    await client.waitFor(
      () => client.events.some((e) => e.name === 'connected'),
      timeoutMs,
      'no connected event',
    );
    return client;
  }

  /** Emits `event` with an ack id; resolves with the ack's first argument. */
  async emitWithAck(event: string, payload: unknown, timeoutMs = 10_000): Promise<unknown> {
    const id = this.nextAck++;
    let answer: unknown[] | undefined;
    this.acks.set(id, (args) => {
      answer = args;
    });
    this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
    await this.waitFor(() => answer !== undefined, timeoutMs, `no ack for ${event}`);
    return answer![0];
  }

  close(): void {
    this.ws.terminate();
  }

  /** Polls until `done()` (or throws after `timeoutMs`). */
  async waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private onFrame(frame: string): void {
    this.frames.push(frame);
    if (frame === '2') {
      this.ws.send('3');
      return;
    }
    // 42[...] an event; 43<id>[...] an ack; 40/41/44 connect/disconnect/connect_error.
    const match = /^4([0-6])(\d*)(.*)$/s.exec(frame);
    if (!match) return;
    const [, type, id, body] = match;
    if (type === '2') {
      const [name, data] = JSON.parse(body!) as [string, unknown];
      this.events.push({ name, data });
    } else if (type === '3') {
      this.acks.get(Number(id))?.(JSON.parse(body!) as unknown[]);
      this.acks.delete(Number(id));
    }
  }
}

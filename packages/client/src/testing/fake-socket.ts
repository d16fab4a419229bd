import type { Ack } from '@tideline/contracts';

/**
 * Stands in for a socket.io-client socket in unit tests: the test fires server events and reads
 * what was sent. Not part of the SDK (nothing in it imports this file).
 */
export class FakeSocket {
  connected = false;
  readonly sent: { event: string; payload: unknown }[] = [];
  /** How the "server" acknowledges an emitWithAck; default `{ ok: true }`. Throwing = an ack timeout. */
  answer: (event: string, payload: unknown) => Ack | Promise<Ack> = () => ({ ok: true });
  private readonly handlers = new Map<string, ((...args: unknown[]) => void)[]>();

  constructor(readonly options: { auth?: unknown } = {}) {}

  on(event: string, handler: (...args: unknown[]) => void) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return this;
  }
  emit(event: string, payload: unknown) {
    this.sent.push({ event, payload });
    return this;
  }
  timeout() {
    return {
      emitWithAck: async (event: string, payload: unknown) => {
        this.sent.push({ event, payload });
        return this.answer(event, payload);
      },
    };
  }
  disconnect() {
    this.connected = false;
    return this;
  }
  removeAllListeners() {
    this.handlers.clear();
    return this;
  }
  /** The number of handlers registered for `event`. */
  listeners(event: string): number {
    return this.handlers.get(event)?.length ?? 0;
  }
  fire(event: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }
  /** The server accepts the connection. */
  accept() {
    this.connected = true;
    this.fire('connect');
  }
  /** What was sent for `event`, payloads in order. */
  payloadsOf(event: string): unknown[] {
    return this.sent.filter((s) => s.event === event).map((s) => s.payload);
  }
}

/** An `io` function handing out FakeSockets; `opened` lists them in order. */
export function fakeIo() {
  const opened: FakeSocket[] = [];
  const io = ((_url: string, options: { auth?: unknown }) => {
    const socket = new FakeSocket(options);
    opened.push(socket);
    return socket;
  }) as never;
  return { io, opened, last: () => opened.at(-1)! };
}

/** A `connect_error` as the gateway's handshake refusal reaches the client. */
export function handshakeRefusal(code: string, reason?: string) {
  return Object.assign(new Error(`refused: ${code}`), { data: { code, ...(reason ? { reason } : {}) } });
}

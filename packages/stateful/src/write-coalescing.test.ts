import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { WriteCoalescer } from './write-coalescing.ts';

/** A socket stand-in that records each write it performs (what a real socket turns into a system call). */
class RecordingSocket extends Writable {
  readonly writes: string[][] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.writes.push([chunk.toString()]);
    done();
  }

  override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
    this.writes.push(chunks.map(({ chunk }) => chunk.toString()));
    done();
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function connection(status = 'ready') {
  const socket = new RecordingSocket();
  return { socket, redis: { status, stream: socket } as unknown as Redis };
}

describe('WriteCoalescer', () => {
  it('auto-pipelining - the writes of one event-loop turn, also from promise continuations, leave as one', async () => {
    const { socket, redis } = connection();
    const coalescer = new WriteCoalescer(redis);
    const send = (command: string) => {
      coalescer.hold();
      socket.write(command);
    };
    send('a');
    send('b');
    await Promise.resolve();
    send('c');
    expect(socket.writes, 'held until the turn ends').toEqual([]);
    await turn();
    expect(socket.writes).toEqual([['a', 'b', 'c']]);
    send('d');
    await turn();
    expect(socket.writes, 'a later turn is a write of its own').toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('auto-pipelining - nothing is held while the connection is not ready', async () => {
    const { socket, redis } = connection('reconnecting');
    new WriteCoalescer(redis).hold();
    socket.write('x');
    expect(socket.writes).toEqual([['x']]);
  });
});

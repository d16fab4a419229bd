import { ProduceAcks, type Producer } from '@platformatic/kafka';
import type { EncodedRecord } from './codec.ts';

interface Pending {
  record: EncodedRecord;
  bytes: number;
  resolve(offset: bigint): void;
  reject(error: unknown): void;
}

type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer>;

/**
 * Sends records in the order `send` was called, with at most one produce request in flight:
 * records queued meanwhile leave together in the next request (bounded by `maxBatchBytes`).
 * One request at a time keeps publish order on every partition, also when a request is retried;
 * batching keeps throughput when many publishes are awaited concurrently.
 *
 * After a failed request the producer is replaced: the failed batch may have been stored anyway,
 * and an idempotent producer that reused its sequence numbers for the next batch would have that
 * batch taken for a retry of the failed one and dropped while reported as stored.
 *
 * The records queued behind a failed request fail with it, unsent: sent on, they would be stored
 * ahead of the failed ones' retries, out of publish order. So a failure stops every later record
 * that was waiting, as JetStream's expected-last-msgId chain does on NATS; their publishers retry.
 */
export class OrderedPublisher {
  private readonly queue: Pending[] = [];
  private sending: Promise<void> | undefined;
  private producer: BufferProducer;

  constructor(
    private readonly createProducer: () => BufferProducer,
    private readonly maxBatchBytes: number,
  ) {
    this.producer = createProducer();
  }

  get closed(): boolean {
    return this.producer.closed;
  }

  /** Waits for the requests under way, then closes the producer. */
  async close(): Promise<void> {
    await this.flush();
    await this.producer.close();
  }

  /** Resolves with the record's offset once the broker stored it (acks=all). */
  send(record: EncodedRecord): Promise<bigint> {
    let bytes = record.key.length + record.value.length;
    for (const [name, value] of record.headers) bytes += name.length + value.length;
    return new Promise<bigint>((resolve, reject) => {
      this.queue.push({ record, bytes, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when everything sent before the call was answered. */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private pump(): void {
    if (this.sending || this.queue.length === 0) return;
    let size = 0;
    let count = 0;
    while (
      count < this.queue.length &&
      (count === 0 || size + this.queue[count]!.bytes <= this.maxBatchBytes)
    ) {
      size += this.queue[count]!.bytes;
      count++;
    }
    const batch = this.queue.splice(0, count);
    this.sending = this.sendBatch(batch).finally(() => {
      this.sending = undefined;
      this.pump();
    });
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    try {
      const result = await this.producer.send({
        messages: batch.map((p) => ({ ...p.record })),
        acks: ProduceAcks.ALL,
      });
      const base = new Map<string, bigint>();
      for (const { topic, partition, offset } of result.offsets ?? [])
        base.set(`${topic}\0${partition}`, offset);
      const seen = new Map<string, bigint>();
      for (const p of batch) {
        const where = `${p.record.topic}\0${p.record.partition}`;
        const first = base.get(where);
        if (first === undefined) {
          p.reject(new Error(`the broker answered no offset for ${p.record.topic}/${p.record.partition}`));
          continue;
        }
        const index = seen.get(where) ?? 0n;
        seen.set(where, index + 1n);
        p.resolve(first + index);
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
      const behind = this.queue.splice(0);
      for (const p of behind)
        p.reject(
          new Error(`not sent: a produce request ahead of it failed (${(error as Error).message})`, {
            cause: error,
          }),
        );
      const failed = this.producer;
      this.producer = this.createProducer();
      await Promise.resolve(failed.close(true)).catch(() => undefined);
    }
  }
}

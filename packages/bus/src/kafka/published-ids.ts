import type { PublishReceipt } from '../types.ts';

interface Entry {
  receipt: Promise<PublishReceipt>;
  expiresAtMs: number;
}

/**
 * The msgIds this bus instance published within the duplicate window (at most `capacity`), with
 * their receipts. Kafka has no broker-side dedup by id: a repeated publish of a remembered id is
 * answered from here (`duplicate: true`, the stored position) and never reaches the broker.
 * A publish that failed is forgotten, so a retry of it is sent again.
 */
export class PublishedIds {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly windowMs: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The receipt of an earlier publish of `msgId` still in the window (it may still be in flight). */
  lookup(msgId: string): Promise<PublishReceipt> | undefined {
    this.expire();
    return this.entries.get(msgId)?.receipt;
  }

  remember(msgId: string, receipt: Promise<PublishReceipt>): void {
    if (this.capacity <= 0 || this.windowMs <= 0) return;
    this.entries.delete(msgId);
    this.entries.set(msgId, { receipt, expiresAtMs: this.now() + this.windowMs });
    receipt.catch(() => {
      if (this.entries.get(msgId)?.receipt === receipt) this.entries.delete(msgId);
    });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  private expire(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) {
      if (entry.expiresAtMs > now) break;
      this.entries.delete(id);
    }
  }
}

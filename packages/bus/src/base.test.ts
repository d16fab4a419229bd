import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from './memory/memory-bus.ts';
import { eventually } from './testing/wait.ts';
import {
  type BusOptions,
  DEAD_LETTER_TOPIC,
  type PublishOptions,
  type PublishReceipt,
  type TopicSpec,
} from './types.ts';

/** A bus whose first dead-letter publish fails, like a broker timing out at the wrong moment. */
class FlakyDeadLetterBus extends MemoryEventBus {
  failures = 1;
  protected override async doPublish(
    topic: TopicSpec,
    subject: string,
    data: Uint8Array,
    options: PublishOptions,
  ): Promise<PublishReceipt> {
    if (topic.name === DEAD_LETTER_TOPIC && this.failures > 0) {
      this.failures--;
      throw new Error('dead-letter topic unavailable');
    }
    return super.doPublish(topic, subject, data, options);
  }
}

const options: BusOptions = {
  prefix: 'base',
  topics: [{ name: 'orders', subjects: 'order.>' }],
  maxDeliveries: 1,
  backoff: { initialMs: 20, maxMs: 40 },
  ackWaitMs: 5_000,
  retentionMs: 60_000,
  duplicateWindowMs: 60_000,
};

describe('BaseEventBus', () => {
  it('dead-letter - a failed dead-letter publish hands the message back; it is dead-lettered later and the group keeps flowing', async () => {
    const bus = new FlakyDeadLetterBus(options);
    await bus.start();
    const seen: string[] = [];
    await bus.subscribe({
      topic: 'orders',
      group: 'g',
      handler: (m) => {
        seen.push(`${m.msgId}@${m.deliveryCount}`);
        return m.msgId === 'bad' ? 'reject' : 'ack';
      },
    });
    await bus.publish('order.created', {}, { msgId: 'bad' });
    await bus.publish('order.created', {}, { msgId: 'good' });
    expect(await eventually(() => seen.includes('good@1'), 2_000)).toBe(true);
    const dead = await bus.read({ topic: DEAD_LETTER_TOPIC, from: 1, limit: 10 });
    expect(dead.map((m) => m.msgId)).toEqual(['g:1:bad']);
    expect(seen).toEqual(['bad@1', 'bad@2', 'good@1']);
    expect(bus.failures).toBe(0);
    await bus.drain();
  });
});

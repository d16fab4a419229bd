import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, partitionFor, RESERVED_HEADERS } from './codec.ts';

const topic = { name: 'orders', subjects: 'order.>' };

function roundTrip(publish: Parameters<typeof encodeRecord>[0]['publish']) {
  const record = encodeRecord({
    kafkaTopic: 'p_orders',
    topic,
    subject: 'order.created',
    data: new TextEncoder().encode('{"n":1}'),
    publish,
    partitions: 1,
  });
  return { record, message: decodeRecord(topic, { ...record, headers: record.headers, offset: 41n }, 2) };
}

describe('Kafka record codec', () => {
  it('round trip - subject, msgId, key, headers, payload and position survive', () => {
    const { message } = roundTrip({ msgId: 'm1', key: 'k1', headers: { 'x-trace': 't' } });
    expect(message).toMatchObject({
      topic: 'orders',
      subject: 'order.created',
      msgId: 'm1',
      key: 'k1',
      headers: { 'x-trace': 't' },
      deliveryCount: 2,
      position: 42,
    });
    expect(message.json()).toEqual({ n: 1 });
  });

  it('key - without a key the topic name orders the record, and the message shows no key', () => {
    const { record, message } = roundTrip({ msgId: 'm2' });
    expect(record.key.toString()).toBe('orders');
    expect(message.key).toBeUndefined();
  });

  it('headers - reserved names cannot be forged by a publisher', () => {
    const { message } = roundTrip({ msgId: 'real', headers: { [RESERVED_HEADERS.msgId]: 'forged' } });
    expect(message.msgId).toBe('real');
    expect(message.headers[RESERVED_HEADERS.msgId]).toBeUndefined();
  });

  it('partition - one key always maps to one partition within range', () => {
    for (const key of ['a', 'b', 'cluster-7', 'orders']) {
      const p = partitionFor(key, 8);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(8);
      expect(partitionFor(key, 8)).toBe(p);
      expect(partitionFor(key, 1)).toBe(0);
    }
    expect(new Set(Array.from({ length: 50 }, (_, i) => partitionFor(`k${i}`, 4))).size).toBe(4);
  });
});

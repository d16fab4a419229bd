import { DecodedMessage } from '../base.ts';
import type { BusMessage, PublishOptions, TopicSpec } from '../types.ts';

/** Headers the Kafka bus reserves on every record; never shown to handlers. */
export const RESERVED_HEADERS = {
  msgId: 'tideline-msg-id',
  subject: 'tideline-subject',
  /** Present when the publisher gave no key and the topic name stood in for it. */
  keyDefaulted: 'tideline-key-defaulted',
} as const;

const reserved = new Set<string>(Object.values(RESERVED_HEADERS));

export interface EncodedRecord {
  topic: string;
  partition: number;
  key: Buffer;
  value: Buffer;
  headers: Map<Buffer, Buffer>;
}

/** FNV-1a: a stable key → partition mapping shared by every Tideline producer. */
export function partitionFor(key: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/**
 * The record of one publish. Without a key the topic name is the key, so a topic published
 * without keys keeps one total order even on several partitions.
 */
export function encodeRecord(options: {
  kafkaTopic: string;
  topic: TopicSpec;
  subject: string;
  data: Uint8Array;
  publish: PublishOptions;
  partitions: number;
}): EncodedRecord {
  const key = options.publish.key ?? options.topic.name;
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(options.publish.headers ?? {})) {
    if (!reserved.has(name)) headers.set(Buffer.from(name), Buffer.from(value));
  }
  headers.set(Buffer.from(RESERVED_HEADERS.msgId), Buffer.from(options.publish.msgId));
  headers.set(Buffer.from(RESERVED_HEADERS.subject), Buffer.from(options.subject));
  if (options.publish.key === undefined)
    headers.set(Buffer.from(RESERVED_HEADERS.keyDefaulted), Buffer.alloc(0));
  return {
    topic: options.kafkaTopic,
    partition: partitionFor(key, options.partitions),
    key: Buffer.from(key),
    value: Buffer.from(options.data.buffer, options.data.byteOffset, options.data.byteLength),
    headers,
  };
}

export interface RawRecord {
  key: Buffer | null | undefined;
  value: Buffer | null | undefined;
  headers: Iterable<[Buffer | null | undefined, Buffer | null | undefined]>;
  offset: bigint;
}

/** Position of a record: its offset + 1 (1-based, increasing in publish order per partition). */
export function positionOf(offset: bigint): number {
  return Number(offset) + 1;
}

export function offsetOf(position: number): bigint {
  return BigInt(Math.max(1, position) - 1);
}

export function decodeRecord(topic: TopicSpec, record: RawRecord, deliveryCount: number): BusMessage {
  const headers: Record<string, string> = {};
  let msgId = `offset:${record.offset}`;
  let subject = '';
  let keyDefaulted = false;
  for (const [rawName, rawValue] of record.headers) {
    if (!rawName) continue;
    const name = rawName.toString();
    const value = rawValue ? rawValue.toString() : '';
    if (name === RESERVED_HEADERS.msgId) msgId = value;
    else if (name === RESERVED_HEADERS.subject) subject = value;
    else if (name === RESERVED_HEADERS.keyDefaulted) keyDefaulted = true;
    else headers[name] = value;
  }
  const key = keyDefaulted || !record.key ? undefined : record.key.toString();
  const value = record.value ?? Buffer.alloc(0);
  return new DecodedMessage(
    topic.name,
    subject,
    msgId,
    key,
    headers,
    new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    deliveryCount,
    positionOf(record.offset),
  );
}

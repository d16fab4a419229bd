import { type Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { BusStateError } from '../errors.ts';
import { subjectMatches } from '../subjects.ts';
import type { BusMessage, TopicSpec } from '../types.ts';
import { decodeRecord, offsetOf } from './codec.ts';

const CONTROL_BATCH = 0x20;

export interface ReadRequest {
  /** A client used only for fetches and offset look-ups; it never joins a group. */
  client: Consumer<Buffer, Buffer, Buffer, Buffer>;
  kafkaTopic: string;
  topic: TopicSpec;
  from: number;
  limit: number;
  subjects: string[] | undefined;
  maxBytes: number;
}

/**
 * Messages of a single-partition topic from a position, in order, at most `limit`, fewer at its
 * end. A position before the oldest retained message starts at the oldest one.
 */
export async function readFromPosition(request: ReadRequest): Promise<BusMessage[]> {
  const { client, kafkaTopic, topic, limit, subjects } = request;
  const metadata = await client.metadata({ topics: [kafkaTopic] });
  const described = metadata.topics.get(kafkaTopic);
  if (!described) throw new BusStateError(`Kafka topic ${kafkaTopic} does not exist`);
  if (described.partitionsCount !== 1) {
    throw new BusStateError(
      `read by position needs a single-partition topic; ${kafkaTopic} has ${described.partitionsCount}`,
    );
  }
  const leader = described.partitions[0]!.leader;
  const [earliest, latest] = await Promise.all(
    [ListOffsetTimestamps.EARLIEST, ListOffsetTimestamps.LATEST].map(
      async (timestamp) =>
        (await client.listOffsets({ topics: [kafkaTopic], timestamp })).get(kafkaTopic)?.[0] ?? 0n,
    ),
  );
  let offset = offsetOf(request.from);
  if (offset < earliest!) offset = earliest!;
  const out: BusMessage[] = [];
  while (out.length < limit && offset < latest!) {
    const response = await client.fetch({
      node: leader,
      topics: [
        {
          topicId: described.id,
          partitions: [
            {
              partition: 0,
              fetchOffset: offset,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
              partitionMaxBytes: request.maxBytes,
            },
          ],
        },
      ],
      minBytes: 1,
      maxBytes: request.maxBytes,
      maxWaitTime: 0,
    });
    const partition = response.responses[0]?.partitions[0];
    const start = offset;
    for (const batch of partition?.records ?? []) {
      const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
      if (batch.attributes & CONTROL_BATCH) {
        if (end > offset) offset = end;
        continue;
      }
      for (const record of batch.records) {
        const recordOffset = batch.firstOffset + BigInt(record.offsetDelta);
        if (recordOffset < offset) continue;
        offset = recordOffset + 1n;
        const message = decodeRecord(topic, { ...record, offset: recordOffset }, 1);
        if (subjects && !subjects.some((s) => subjectMatches(s, message.subject))) continue;
        out.push(message);
        if (out.length >= limit) return out;
      }
    }
    if (offset === start) break;
  }
  return out;
}

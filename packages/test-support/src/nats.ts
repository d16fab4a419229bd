import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type BusOptions, contractTopics, type EventBus, NatsEventBus } from '@tideline/bus';

export const TEST_NATS_URL = process.env['TIDELINE_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** A bus prefix no other test or run uses (`TIDELINE_BUS_PREFIX`). */
export function uniquePrefix(tag = 't'): string {
  return `${tag}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Bus options for tests: every topic of the contracts, under `prefix`, with short retries. */
export function testBusOptions(prefix: string): BusOptions {
  return {
    prefix,
    topics: contractTopics(),
    maxDeliveries: 5,
    backoff: { initialMs: 100, maxMs: 1_000 },
    ackWaitMs: 10_000,
    retentionMs: 3_600_000,
    duplicateWindowMs: 120_000,
  };
}

/** A started JetStream bus with every topic of the contracts, under `prefix`. */
export async function openTestBus(prefix: string, servers: string = TEST_NATS_URL): Promise<EventBus> {
  const bus = new NatsEventBus({ servers, ...testBusOptions(prefix) });
  await bus.start();
  return bus;
}

/** Deletes every stream of `prefix` (what a test left on the shared server). */
export async function removeStreams(prefix: string, servers: string = TEST_NATS_URL): Promise<void> {
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names())
      if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

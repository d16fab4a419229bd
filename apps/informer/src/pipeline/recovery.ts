import { type EventBus, readTopic } from '@tideline/bus';
import { NODES_TOPIC, type NodeView } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import { type LedgerEventType, PublishedLedger } from '../domain/ledger.ts';

export interface RecoveryOptions {
  bus: EventBus;
  pageSize: number;
  logger: Logger;
}

export interface RecoveryReport {
  ledger: PublishedLedger;
  /** Messages read from the nodes topic. */
  read: number;
  /** Messages that were not node or cluster events (skipped). */
  skipped: number;
  /** Clusters whose ids jumped (older events aged out of the bus). */
  gaps: number;
  ms: number;
}

const TYPES = new Set<LedgerEventType>([
  'added',
  'updated',
  'deleted',
  'cluster-registered',
  'cluster-removed',
]);

interface Envelope {
  eventId?: unknown;
  type?: unknown;
  data?: { cluster?: unknown; node?: NodeView };
}

/**
 * Rebuilds what this informer published from the nodes topic itself, the one record every reader
 * shares: for each cluster the last event id and the view of each node in its last event. Reads
 * the whole retained topic, so its cost grows with the topic's retention; events of the informer
 * are trusted as published (they were checked against the contract before).
 */
export async function recoverLedger(options: RecoveryOptions): Promise<RecoveryReport> {
  const started = performance.now();
  const ledger = new PublishedLedger();
  let read = 0;
  let skipped = 0;
  let gaps = 0;
  for await (const message of readTopic(options.bus, { topic: NODES_TOPIC, pageSize: options.pageSize })) {
    read += 1;
    let envelope: Envelope;
    try {
      envelope = message.json<Envelope>();
    } catch {
      skipped += 1;
      continue;
    }
    const { eventId, type, data } = envelope;
    if (
      typeof eventId !== 'number' ||
      typeof type !== 'string' ||
      !TYPES.has(type as LedgerEventType) ||
      typeof data?.cluster !== 'string'
    ) {
      skipped += 1;
      continue;
    }
    const node = type === 'cluster-registered' || type === 'cluster-removed' ? undefined : data.node;
    if (type !== 'cluster-registered' && type !== 'cluster-removed' && !node?.name) {
      skipped += 1;
      continue;
    }
    const outcome = ledger.apply({
      cluster: data.cluster,
      eventId,
      type: type as LedgerEventType,
      ...(node ? { node } : {}),
    });
    if (outcome === 'gap') gaps += 1;
  }
  const report = { ledger, read, skipped, gaps, ms: Math.round(performance.now() - started) };
  options.logger.info(
    {
      read,
      skipped,
      gaps,
      ms: report.ms,
      clusters: ledger.clusters().map((c) => ({
        cluster: c.cluster,
        lastEventId: c.lastEventId,
        nodes: c.views.size,
        registered: c.registered,
      })),
    },
    'recovered published state from the nodes topic',
  );
  return report;
}

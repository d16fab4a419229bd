import { type EventBus, readTopic } from '@tideline/bus';
import { decodeNodesTopicEvent, NODES_TOPIC, subjects } from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import { type ClusterLedger, PublishedLedger } from '../domain/ledger.ts';

export interface RecoveryOptions {
  bus: EventBus;
  pageSize: number;
  logger: Logger;
}

/**
 * Rebuilds what this informer published from the nodes topic itself, the one record every reader
 * shares: for each cluster the last event id and the view of each node in its last event. Reads
 * the whole retained topic, so its cost grows with the topic's retention; each message is decoded
 * by the contracts' one decoder of the topic, and a message outside the contract is skipped
 * (counted in the log line).
 */
export async function recoverLedger(options: RecoveryOptions): Promise<PublishedLedger> {
  const started = performance.now();
  const ledger = new PublishedLedger();
  let read = 0;
  let skipped = 0;
  let gaps = 0;
  for await (const message of readTopic(options.bus, { topic: NODES_TOPIC, pageSize: options.pageSize })) {
    read += 1;
    const decoded = decodeNodesTopicEvent(message.data);
    if (!decoded.ok) skipped += 1;
    else if (ledger.apply(decoded.value, message) === 'gap') gaps += 1;
  }
  options.logger.info(
    {
      read,
      skipped,
      gaps,
      ms: Math.round(performance.now() - started),
      clusters: ledger.clusters().map((c) => ({
        cluster: c.cluster,
        lastEventId: c.lastEventId,
        nodes: c.views.size,
        registered: c.registered,
      })),
    },
    'recovered published state from the nodes topic',
  );
  return ledger;
}

/**
 * Rebuilds what was published for ONE cluster (by any replica) from the nodes topic: its last
 * id, the view of each node in its last event and the position of the last message of each of its
 * subjects. What a replica taking a cluster over reads before it relists (as a restart does).
 */
export async function recoverCluster(options: RecoveryOptions & { cluster: string }): Promise<ClusterLedger> {
  const started = performance.now();
  const ledger = new PublishedLedger();
  let read = 0;
  let skipped = 0;
  for await (const message of readTopic(options.bus, {
    topic: NODES_TOPIC,
    pageSize: options.pageSize,
    subjects: [subjects.node(options.cluster, '*')],
  })) {
    read += 1;
    const decoded = decodeNodesTopicEvent(message.data);
    if (!decoded.ok || decoded.value.data.cluster !== options.cluster) skipped += 1;
    else ledger.apply(decoded.value, message);
  }
  const recovered = ledger.cluster(options.cluster);
  options.logger.info(
    {
      cluster: options.cluster,
      read,
      skipped,
      lastEventId: recovered.lastEventId,
      nodes: recovered.views.size,
      ms: Math.round(performance.now() - started),
    },
    'recovered the published state of a cluster from the nodes topic',
  );
  return recovered;
}

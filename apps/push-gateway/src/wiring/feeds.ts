import {
  type NodesInitial,
  type NodesUpdateMessage,
  rooms,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { PushGatewayConfig } from '../config.ts';
import { ClusterFeeds } from '../domain/cluster-feeds.ts';
import { Feed } from '../domain/feed.ts';
import type { FeedObserver } from '../domain/feed-observer.ts';
import { type NodeFeeds, nodeMessageOf } from '../domain/node-delta.ts';
import { SnapshotGate } from '../domain/snapshot-gate.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { SocketEmitter } from '../socket/emitter.ts';
import type { Sources } from './sources.ts';

export interface Feeds {
  websites: Feed<WebsitesInitial, WebsitesUpdate>;
  nodes: NodeFeeds;
}

/**
 * The feed metrics and logs (emits are counted by the emitter). `cluster` labels the delivery
 * latency only when the operator allows cluster names on the gateway's series; empty otherwise.
 */
export function feedObserver(
  metrics: GatewayMetrics,
  logger: Logger,
  feed: 'websites' | 'nodes',
  cluster = '',
): FeedObserver {
  return {
    gapRepair: (memberId, afterEventId) => {
      metrics.gapRepairs.inc({ feed, outcome: 'started' });
      logger.warn({ feed, socket: memberId, afterEventId }, 'live stream skipped ids; repairing by replay');
    },
    holdOverflow: (memberId, held) => {
      metrics.gapRepairs.inc({ feed, outcome: 'overflow' });
      logger.warn(
        { feed, socket: memberId, held },
        'too many events held behind a gap; resyncing by snapshot',
      );
    },
    repairFailed: (error) => {
      metrics.gapRepairs.inc({ feed, outcome: 'failed' });
      logger.warn({ feed, err: error }, 'background resync failed; a gap is repaired after the gap wait');
    },
    joined: () => metrics.roomJoins.inc({ room_kind: feed }),
    synced: (mode, reason) => metrics.syncs.inc({ feed, mode, reason }),
    outOfOrder: () => metrics.outOfOrderEvents.inc({ feed }),
    delivered: (recipients, occurredAtMs) => {
      if (recipients === 0 || occurredAtMs === undefined || !Number.isFinite(occurredAtMs)) return;
      metrics.deliveryLag.observe(
        cluster ? { feed, cluster } : { feed },
        Math.max(0, Date.now() - occurredAtMs) / 1000,
      );
    },
  };
}

/** The websites feed and the per-cluster node feeds, fed by `sources` and sending through `emitter`. */
export function createFeeds(options: {
  config: PushGatewayConfig;
  sources: Sources;
  emitter: SocketEmitter;
  metrics: GatewayMetrics;
  logger: Logger;
}): Feeds {
  const { config, sources, emitter, metrics, logger } = options;
  const feedOptions = {
    replayLimit: config.gatewayReplayLimit,
    snapshotReuseMs: config.gatewaySnapshotReuseMs,
    bufferMaxEvents: config.gatewaySyncBufferMaxEvents,
    gapWaitMs: config.gatewayGapWaitMs,
    holdMaxEvents: config.gatewayGapHoldMaxEvents,
    // One gate for every feed: leaving a cluster's feed (even dropping it) and joining again is no way around it.
    snapshotGate: new SnapshotGate({ intervalMs: config.gatewayResnapshotIntervalMs }),
  };
  const websites = new Feed<WebsitesInitial, WebsitesUpdate>({
    ...feedOptions,
    room: rooms.websites,
    source: sources.websites,
    // `version` is the log's epoch: the same id in another epoch is another state.
    snapshotVersion: (snapshot) => `${snapshot.version}:${snapshot.lastEventId}`,
    outlet: emitter.websites,
    observer: feedObserver(metrics, logger, 'websites'),
  });
  const nodesObserver = feedObserver(metrics, logger, 'nodes');
  const observerOf = (cluster: string) =>
    config.gatewayMetricsClusterLabel ? feedObserver(metrics, logger, 'nodes', cluster) : nodesObserver;
  const nodes: NodeFeeds = new ClusterFeeds(
    (cluster, format) =>
      new Feed<NodesInitial, NodesUpdateMessage>({
        ...feedOptions,
        room: format === 'delta' ? rooms.nodesDelta(cluster) : rooms.nodes(cluster),
        source: {
          // A granted delta subscription is told so in its initial.
          snapshot:
            format === 'delta'
              ? async () => ({ ...(await sources.nodes.snapshot(cluster)), delta: true as const })
              : () => sources.nodes.snapshot(cluster),
          replay: (request) => sources.nodes.replay(cluster, request, format),
        },
        outlet: emitter.nodes(cluster),
        observer: observerOf(cluster),
      }),
    nodeMessageOf,
  );
  return { websites, nodes };
}

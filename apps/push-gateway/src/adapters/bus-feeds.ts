import type { BusMessage, EventBus, Subscription } from '@tideline/bus';
import {
  decodeNodesTopicEvent,
  decodeWebsiteEvent,
  isClusterEvent,
  NODES_TOPIC,
  WEBSITES_TOPIC,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { Feed } from '../domain/feed.ts';
import { websiteUpdateOf } from '../domain/messages.ts';
import type { NodeFeeds } from '../domain/node-delta.ts';

export interface BusFeedsOptions {
  bus: EventBus;
  /** This gateway; its groups are its own, so every gateway sees every event. */
  instanceId: string;
  websites: Feed<WebsitesInitial, WebsitesUpdate>;
  nodes: NodeFeeds;
  logger: Logger;
  /** An event that does not match its contract was skipped. */
  onInvalid: (topic: string) => void;
}

/**
 * Feeds live events into this gateway's feeds. Each topic is read by a group of this gateway
 * alone (ephemeral, from now on, one message at a time), so events reach the feeds in topic order
 * and no gateway depends on another to deliver to its own sockets. Events are never re-broadcast
 * through Redis: two gateways publishing into Redis would not keep each other's order.
 *
 * Messages are decoded by the contracts' one decoder per topic. On the nodes topic, cluster events
 * take ids in the cluster's sequence like node events and are what they are, not lost events:
 * `cluster-removed` ends the cluster's feed (its followers get `nodes:removed`),
 * `cluster-registered` starts a new epoch (its followers resync by snapshot).
 */
export async function consumeFeeds(options: BusFeedsOptions): Promise<Subscription[]> {
  const { bus, instanceId, logger } = options;
  const skip = (message: BusMessage, topic: string, issue: string) => {
    options.onInvalid(topic);
    logger.error(
      { topic, subject: message.subject, msgId: message.msgId, issue },
      'skipped an event outside its contract',
    );
  };
  const websites = await bus.subscribe({
    topic: WEBSITES_TOPIC,
    group: `gateway-${instanceId}-websites`,
    ephemeral: true,
    startAt: 'new',
    concurrency: 1,
    handler: (message) => {
      const decoded = decodeWebsiteEvent(message.data);
      if (!decoded.ok) return skip(message, WEBSITES_TOPIC, decoded.error.message);
      options.websites.deliver(websiteUpdateOf(decoded.value), Date.parse(decoded.value.occurredAt));
    },
  });
  const nodes = await bus.subscribe({
    topic: NODES_TOPIC,
    group: `gateway-${instanceId}-nodes`,
    ephemeral: true,
    startAt: 'new',
    concurrency: 1,
    handler: (message) => {
      const decoded = decodeNodesTopicEvent(message.data);
      if (!decoded.ok) return skip(message, NODES_TOPIC, decoded.error.message);
      const event = decoded.value;
      const cluster = event.data.cluster;
      if (!isClusterEvent(event)) {
        options.nodes.deliver(cluster, event, Date.parse(event.occurredAt));
      } else if (event.type === 'cluster-removed') {
        options.nodes.removed(cluster, event.eventId);
      } else {
        options.nodes.registered(cluster, event.eventId);
      }
    },
  });
  return [websites, nodes];
}

import type { BusMessage, EventBus, Subscription } from '@tideline/bus';
import {
  NODES_TOPIC,
  NodeEvent,
  NodeEventType,
  type NodesInitial,
  type NodesUpdate,
  WEBSITES_TOPIC,
  WebsiteEvent,
  type WebsitesInitial,
  type WebsitesUpdate,
} from '@tideline/contracts';
import type { Logger } from '@tideline/runtime';
import type { ClusterFeeds } from '../domain/cluster-feeds.ts';
import type { Feed } from '../domain/feed.ts';
import { nodeUpdateOf, websiteUpdateOf } from '../domain/messages.ts';

export interface BusFeedsOptions {
  bus: EventBus;
  /** This gateway; its groups are its own, so every gateway sees every event. */
  podId: string;
  websites: Feed<WebsitesInitial, WebsitesUpdate>;
  nodes: ClusterFeeds<NodesInitial, NodesUpdate>;
  logger: Logger;
  /** An event that does not match its contract was skipped. */
  onInvalid: (topic: string) => void;
}

function json(message: BusMessage): unknown {
  try {
    return message.json();
  } catch {
    return undefined;
  }
}

/**
 * Feeds live events into this gateway's feeds. Each topic is read by a group of this gateway
 * alone (ephemeral, from now on, one message at a time), so events reach the feeds in topic order
 * and no gateway depends on another to deliver to its own sockets. Events are never re-broadcast
 * through Redis: two gateways publishing into Redis would not keep each other's order.
 */
export async function consumeFeeds(options: BusFeedsOptions): Promise<Subscription[]> {
  const { bus, podId, logger } = options;
  const skip = (message: BusMessage, topic: string, issue: string) => {
    options.onInvalid(topic);
    logger.error(
      { topic, subject: message.subject, msgId: message.msgId, issue },
      'skipped an event outside its contract',
    );
  };
  const websites = await bus.subscribe({
    topic: WEBSITES_TOPIC,
    group: `gateway-${podId}-websites`,
    ephemeral: true,
    startAt: 'new',
    concurrency: 1,
    handler: (message) => {
      const parsed = WebsiteEvent.safeParse(json(message));
      if (!parsed.success) return skip(message, WEBSITES_TOPIC, parsed.error.message);
      options.websites.deliver(websiteUpdateOf(parsed.data), Date.parse(parsed.data.occurredAt));
    },
  });
  const nodes = await bus.subscribe({
    topic: NODES_TOPIC,
    group: `gateway-${podId}-nodes`,
    ephemeral: true,
    startAt: 'new',
    concurrency: 1,
    handler: (message) => {
      const raw = json(message);
      const type = (raw as { type?: unknown } | undefined)?.type;
      // Cluster lifecycle events travel on the same topic; the cache handles them, sockets do not.
      if (typeof type === 'string' && !NodeEventType.safeParse(type).success) return;
      const parsed = NodeEvent.safeParse(raw);
      if (!parsed.success) return skip(message, NODES_TOPIC, parsed.error.message);
      options.nodes.deliver(
        parsed.data.data.cluster,
        nodeUpdateOf(parsed.data),
        Date.parse(parsed.data.occurredAt),
      );
    },
  });
  return [websites, nodes];
}

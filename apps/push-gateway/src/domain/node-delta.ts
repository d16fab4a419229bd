import type { NodeEvent, NodesInitial, NodesUpdate, NodesUpdateMessage } from '@tideline/contracts';
import type { ClusterFeeds } from './cluster-feeds.ts';

/**
 * How a subscription receives `nodes:update`: `rows` (every update carries the whole node, the
 * default) or `delta` (asked for with `subscribe:nodes { delta: true }`).
 */
export type NodeUpdateFormat = 'rows' | 'delta';

/** The full-row socket message of a node change (what every subscription may be sent). */
export function nodeRowOf(event: NodeEvent): NodesUpdate {
  return {
    cluster: event.data.cluster,
    eventId: event.eventId,
    type: event.type,
    data: event.data.node,
    changed: event.data.changed,
  };
}

/**
 * The message of a node change for a delta subscription: an `updated` event with its patch as a
 * delta (name + patch), a `deleted` one by name; an `added` event, or an `updated` one without
 * a patch (published by an informer that predates deltas), as the full row. Exact because the
 * informer computes each patch from the node's view in its previous event, which is what a
 * subscriber that applied every event in id order holds.
 */
export function nodeDeltaOf(event: NodeEvent): NodesUpdateMessage {
  const { cluster, name, changed, patch } = event.data;
  if (event.type === 'updated' && patch) {
    return { cluster, eventId: event.eventId, type: 'updated', name, patch, changed };
  }
  if (event.type === 'deleted') return { cluster, eventId: event.eventId, type: 'deleted', name, changed };
  return nodeRowOf(event);
}

/** The socket message of a node change in the subscription's format. */
export function nodeMessageOf(event: NodeEvent, format: NodeUpdateFormat): NodesUpdateMessage {
  return format === 'delta' ? nodeDeltaOf(event) : nodeRowOf(event);
}

/** The per-cluster node feeds of a gateway: fed with bus events, sending rows or deltas. */
export type NodeFeeds = ClusterFeeds<NodesInitial, NodesUpdateMessage, NodeEvent>;

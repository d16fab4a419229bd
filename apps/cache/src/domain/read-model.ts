import {
  type ClusterSummary,
  isClusterEvent,
  type NodeEvent,
  NodeField,
  type NodeStatic,
  type NodesReplay,
  type NodesSnapshot,
  type NodesTopicEvent,
  type NodeView,
  type SequenceStep,
  sequenceStep,
  TidelineError,
} from '@tideline/contracts';
import {
  ClusterNodes,
  type HeldNode,
  type NodeFilter,
  type SharedNodeValues,
  viewOf,
} from './cluster-nodes.ts';
import { SharedValues } from './shared-values.ts';

export type { NodeFilter } from './cluster-nodes.ts';

/** The field names of the contract, held once (a `changed` list names them again and again). */
const FIELD_NAMES = new Map<string, NodeField>(NodeField.options.map((f) => [f, f]));

export interface NodePage {
  items: NodeView[];
  total: number;
  lastEventId: number;
}

/** The cluster is unknown to the read model, or was unregistered: NOT_FOUND. */
export class UnknownClusterError extends TidelineError {
  override readonly name = 'UnknownClusterError';
  constructor(cluster: string) {
    super('NOT_FOUND', `cluster ${cluster} is not registered`);
  }
}

/**
 * The nodes read model, built only from the events of the nodes topic. Guarantees:
 * - idempotent: an event whose id is at or below its cluster's last applied id changes nothing,
 *   so redelivery and replays of the topic are harmless;
 * - every answer describes the state exactly as of the `lastEventId` it carries (answers are
 *   computed synchronously between two applied events);
 * - an id beyond last+1 (events aged out of the bus before this cache read them) is applied, and
 *   replays can no longer reach across it;
 * - `cluster-removed` drops the cluster's nodes and history; the cluster answers as unknown until
 *   a new registration.
 */
export class NodeReadModel {
  private readonly clusters = new Map<string, ClusterNodes>();
  private readonly shared: SharedNodeValues = {
    statics: new SharedValues<NodeStatic>(),
    conditions: new SharedValues(),
    taints: new SharedValues(),
    words: new SharedValues<string>((word) => word),
  };

  constructor(private readonly historySize: number) {}

  /**
   * Folds one event in, by the sequence rule of the contracts: a duplicate changes nothing; a gap
   * is applied, and replays cannot reach across it.
   */
  apply(event: NodesTopicEvent): SequenceStep {
    const cluster = event.data.cluster;
    let nodes = this.clusters.get(cluster);
    if (!nodes) {
      nodes = new ClusterNodes(cluster, this.historySize, this.shared);
      this.clusters.set(cluster, nodes);
    }
    const step = sequenceStep(nodes.lastEventId, event.eventId);
    if (step === 'duplicate') return step;
    nodes.lastEventId = event.eventId;
    if (isClusterEvent(event)) {
      nodes.clear();
      nodes.removed = event.type === 'cluster-removed';
      nodes.history.resetAt(event.eventId);
      return step;
    }
    if (step === 'gap') nodes.history.resetAt(event.eventId - 1);
    nodes.removed = false;
    if (event.type === 'deleted') {
      nodes.delete(event.data.name);
      nodes.history.push(this.compact(event, undefined));
    } else {
      const held = nodes.put(event.data.node, event.data.changed, event.type);
      nodes.history.push(this.compact(event, held));
    }
    return step;
  }

  /**
   * The event as replays answer it, equal to the one published, made of the values the read model
   * holds anyway (`held`: the node as held after the event) so that history costs little besides.
   */
  private compact(event: NodeEvent, held: HeldNode | undefined): NodeEvent {
    const node = event.data.node;
    const { statics, conditions, taints } = this.shared;
    const view = held ? viewOf(held) : node;
    const compacted = {
      ...view,
      // The event's own static record (the held one may be older when only dynamic fields changed).
      static: statics.peek(node.static),
      dynamic: held
        ? view.dynamic
        : {
            ...node.dynamic,
            conditions: conditions.peek(node.dynamic.conditions),
            taints: taints.peek(node.dynamic.taints),
          },
    };
    return {
      ...event,
      data: {
        ...event.data,
        node: compacted,
        changed: event.data.changed.map((f) => FIELD_NAMES.get(f) ?? f),
      },
    };
  }

  /** Registered clusters, by name. */
  clusterNames(): string[] {
    return [...this.clusters.values()]
      .filter((c) => !c.removed)
      .map((c) => c.cluster)
      .sort();
  }

  has(cluster: string): boolean {
    const nodes = this.clusters.get(cluster);
    return nodes !== undefined && !nodes.removed;
  }

  /** Last applied id of a cluster, removed ones included (0 when never seen). */
  lastEventIdOf(cluster: string): number {
    return this.clusters.get(cluster)?.lastEventId ?? 0;
  }

  private known(cluster: string): ClusterNodes {
    const nodes = this.clusters.get(cluster);
    if (!nodes || nodes.removed) throw new UnknownClusterError(cluster);
    return nodes;
  }

  summary(cluster: string): ClusterSummary {
    const nodes = this.known(cluster);
    return {
      cluster,
      nodes: nodes.size,
      ready: nodes.ready,
      notReady: nodes.size - nodes.ready,
      unschedulable: nodes.unschedulable,
      lastEventId: nodes.lastEventId,
    };
  }

  node(cluster: string, name: string): { node: NodeView | undefined; lastEventId: number } {
    const nodes = this.known(cluster);
    return { node: nodes.view(name), lastEventId: nodes.lastEventId };
  }

  /** Nodes matching `filter`, in name order, the page `[offset, offset + limit)` of them. */
  list(cluster: string, filter: NodeFilter, offset: number, limit: number): NodePage {
    const nodes = this.known(cluster);
    const { items, total } = nodes.select(filter, offset, limit);
    return { items: items.map(viewOf), total, lastEventId: nodes.lastEventId };
  }

  snapshot(cluster: string): NodesSnapshot {
    const nodes = this.known(cluster);
    const items = nodes.nodes.map(viewOf);
    return { cluster, items, total: items.length, lastEventId: nodes.lastEventId };
  }

  replay(cluster: string, after: number, limit: number): NodesReplay {
    const nodes = this.clusters.get(cluster);
    if (!nodes || nodes.removed) return { kind: 'fallback', reason: 'unknown-cluster' };
    return nodes.history.replay(after, limit, nodes.lastEventId);
  }
}

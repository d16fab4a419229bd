import {
  type ClusterEvent,
  NODES_TOPIC,
  type NodeEvent,
  NodeField,
  type NodeView,
  SCHEMA_VERSION,
} from '@tideline/contracts';

export interface TestNodeViewOptions {
  ready?: boolean;
  unschedulable?: boolean;
  labels?: Record<string, string>;
  /** Capacity and allocatable CPU (default `8`). */
  cpu?: string;
}

/** A node view as the informer publishes it: Ready, schedulable, no labels, 8 CPUs unless told otherwise. */
export function testNodeView(name: string, options: TestNodeViewOptions = {}): NodeView {
  const cpu = options.cpu ?? '8';
  return {
    name,
    uid: `uid-${name}`,
    static: {
      capacity: { cpu },
      allocatable: { cpu },
      architecture: 'amd64',
      operatingSystem: 'linux',
      osImage: 'debian',
      kernelVersion: '6.1',
      kubeletVersion: 'v1.30.4',
      containerRuntimeVersion: 'containerd://1.7',
    },
    dynamic: {
      labels: options.labels ?? {},
      taints: [],
      unschedulable: options.unschedulable ?? false,
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
      addresses: [],
    },
  };
}

/** Builds the events of one cluster's sequence of the nodes topic, as the informer would publish them. */
export interface TestNodeEvents {
  registered(eventId: number): ClusterEvent;
  removed(eventId: number): ClusterEvent;
  /** `changed` names every field, as for a node seen for the first time. */
  added(eventId: number, node: NodeView): NodeEvent;
  updated(eventId: number, node: NodeView, changed: NodeField[]): NodeEvent;
  deleted(eventId: number, node: NodeView): NodeEvent;
}

/** Events of `cluster`; `occurredAt` follows from the id, so equal inputs give equal events. */
export function testNodeEvents(cluster: string): TestNodeEvents {
  const envelope = (eventId: number) => ({
    eventId,
    topic: NODES_TOPIC,
    occurredAt: new Date(eventId * 1_000).toISOString(),
    schemaVersion: SCHEMA_VERSION,
  });
  const clusterEvent = (eventId: number, type: ClusterEvent['type']): ClusterEvent => ({
    ...envelope(eventId),
    type,
    data: { cluster },
  });
  const nodeEvent = (eventId: number, type: NodeEvent['type'], node: NodeView, changed: NodeField[]) => ({
    ...envelope(eventId),
    type,
    data: { cluster, name: node.name, node, changed },
  });
  return {
    registered: (eventId) => clusterEvent(eventId, 'cluster-registered'),
    removed: (eventId) => clusterEvent(eventId, 'cluster-removed'),
    added: (eventId, node) => nodeEvent(eventId, 'added', node, [...NodeField.options]),
    updated: (eventId, node, changed) => nodeEvent(eventId, 'updated', node, changed),
    deleted: (eventId, node) => nodeEvent(eventId, 'deleted', node, []),
  };
}

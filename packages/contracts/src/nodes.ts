import { z } from 'zod';
import { envelopeOf } from './envelope.ts';

/** A cluster name as registered with the informer: a DNS-1123 label, usable in subjects and rooms. */
export const ClusterName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label (a-z, 0-9, -; at most 63)');
export type ClusterName = z.infer<typeof ClusterName>;

export const NodeName = z.string().min(1).max(253);

export const Taint = z.object({
  key: z.string(),
  value: z.string().optional(),
  effect: z.string(),
});

export const NodeCondition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
});

export const NodeAddress = z.object({ type: z.string(), address: z.string() });

/** Static attributes: change only when a node is rebuilt or resized. */
export const NodeStatic = z.object({
  capacity: z.record(z.string(), z.string()),
  allocatable: z.record(z.string(), z.string()),
  architecture: z.string(),
  operatingSystem: z.string(),
  osImage: z.string(),
  kernelVersion: z.string(),
  kubeletVersion: z.string(),
  containerRuntimeVersion: z.string(),
});
export type NodeStatic = z.infer<typeof NodeStatic>;

/** Dynamic attributes: what operators change and watch (cordon, labels, taints, readiness). */
export const NodeDynamic = z.object({
  labels: z.record(z.string(), z.string()),
  taints: z.array(Taint),
  unschedulable: z.boolean(),
  conditions: z.array(NodeCondition),
  addresses: z.array(NodeAddress),
});
export type NodeDynamic = z.infer<typeof NodeDynamic>;

/** The meaningful view of a node: everything a change of which must travel (invariant 6). */
export const NodeView = z.object({
  name: NodeName,
  uid: z.string(),
  createdAt: z.string().optional(),
  static: NodeStatic,
  dynamic: NodeDynamic,
});
export type NodeView = z.infer<typeof NodeView>;

/** Names of the fields whose change makes a node event travel; `changed` lists some of these. */
export const NodeField = z.enum([
  'labels',
  'taints',
  'unschedulable',
  'conditions',
  'addresses',
  'capacity',
  'allocatable',
  'nodeInfo',
]);
export type NodeField = z.infer<typeof NodeField>;

export const NODES_TOPIC = 'nodes' as const;
export const NodeEventType = z.enum(['added', 'updated', 'deleted']);
export type NodeEventType = z.infer<typeof NodeEventType>;

/** A record's merge patch: a string sets the key, `null` removes it. */
const RecordPatch = z.record(z.string(), z.string().nullable());

/**
 * A JSON Merge Patch (RFC 7396) of a {@link NodeView}: what turns one view of a node into the
 * next. Members of `static`/`dynamic` merge recursively (records key by key, `null` removing a
 * key: a deleted label or capacity entry); arrays (taints, conditions, addresses) and scalars are
 * replaced whole; `createdAt: null` removes it. `name` never changes (it identifies the node).
 * Applying it to the previous view gives a view deep-equal to the full one.
 */
export const NodePatch = z
  .object({
    uid: z.string().optional(),
    createdAt: z.string().nullable().optional(),
    static: z
      .object({
        capacity: RecordPatch.optional(),
        allocatable: RecordPatch.optional(),
        architecture: z.string().optional(),
        operatingSystem: z.string().optional(),
        osImage: z.string().optional(),
        kernelVersion: z.string().optional(),
        kubeletVersion: z.string().optional(),
        containerRuntimeVersion: z.string().optional(),
      })
      .strict()
      .optional(),
    dynamic: z
      .object({
        labels: RecordPatch.optional(),
        taints: z.array(Taint).optional(),
        unschedulable: z.boolean().optional(),
        conditions: z.array(NodeCondition).optional(),
        addresses: z.array(NodeAddress).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type NodePatch = z.infer<typeof NodePatch>;

export const NodeChange = z.object({
  cluster: ClusterName,
  name: NodeName,
  /** The view after the change; for `deleted`, the last view seen. */
  node: NodeView,
  /** `updated`: the fields whose value differs from the previous event's view; `added`: every field; `deleted`: none. */
  changed: z.array(NodeField),
  /**
   * `updated` only, optional (events of older informers lack it): the merge patch from the
   * node's view in the cluster's previous event about this node to `node`. What the gateways
   * send to subscribers that asked for deltas, without keeping any node state themselves.
   */
  patch: NodePatch.optional(),
});

/**
 * Informer → cache: a meaningful change of one node of one cluster, on subject
 * `node.<cluster>.<type>` with ordering key `<cluster>` and msgId `<cluster>:<eventId>`.
 * Every message of a cluster (node and cluster events alike) takes the next id of that cluster's
 * sequence 1, 2, 3, …, and the informer publishes them one at a time in that order.
 */
export const NodeEvent = envelopeOf(NODES_TOPIC, NodeEventType, NodeChange);
export type NodeEvent = z.infer<typeof NodeEvent>;

/**
 * Informer → cache: a cluster was registered or unregistered (the cache drops its entries on
 * `cluster-removed`). A cluster event takes an id of the cluster's sequence like a node event and
 * marks an epoch boundary: a replay from before it is impossible (readers fall back to a snapshot);
 * after a `cluster-removed`, a new registration continues the same sequence.
 */
export const ClusterEvent = envelopeOf(
  NODES_TOPIC,
  z.enum(['cluster-registered', 'cluster-removed']),
  z.object({ cluster: ClusterName }),
);
export type ClusterEvent = z.infer<typeof ClusterEvent>;

import type { NodeField, NodeView } from '@tideline/contracts';

/**
 * A node as the informer receives it: from a list (deserialized by @kubernetes/client-node, with
 * `Date` timestamps) or from a watch (raw JSON, string timestamps). Only what the view reads.
 */
export interface ObservedNode {
  metadata?: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: Date | string;
    labels?: Record<string, string>;
  };
  spec?: {
    unschedulable?: boolean;
    taints?: { key: string; value?: string; effect: string }[];
  };
  status?: {
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    conditions?: { type: string; status: string; reason?: string }[];
    addresses?: { type: string; address: string }[];
    nodeInfo?: {
      architecture?: string;
      operatingSystem?: string;
      osImage?: string;
      kernelVersion?: string;
      kubeletVersion?: string;
      containerRuntimeVersion?: string;
    };
  };
}

/** Every field a `changed` list may name, in contract order (what an `added` event lists). */
export const ALL_NODE_FIELDS: readonly NodeField[] = [
  'labels',
  'taints',
  'unschedulable',
  'conditions',
  'addresses',
  'capacity',
  'allocatable',
  'nodeInfo',
];

/** Kubernetes timestamps have second resolution; lists (Date) and watches (string) must read alike. */
function timestamp(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 19)}Z`;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function conditionStatus(status: string): 'True' | 'False' | 'Unknown' {
  return status === 'True' || status === 'False' ? status : 'Unknown';
}

/**
 * The meaningful view of a node: what an operator acts on or watches. Heartbeat times, resource
 * versions, managed fields, images and annotations are left out, so updates that change only
 * those produce an equal view. Taints, conditions and addresses are sorted, so order churn is no change.
 */
export function toNodeView(node: ObservedNode): NodeView {
  const metadata = node.metadata ?? {};
  const status = node.status ?? {};
  const info = status.nodeInfo ?? {};
  const createdAt = timestamp(metadata.creationTimestamp);
  return {
    name: metadata.name ?? '',
    uid: metadata.uid ?? '',
    ...(createdAt ? { createdAt } : {}),
    static: {
      capacity: { ...status.capacity },
      allocatable: { ...status.allocatable },
      architecture: info.architecture ?? '',
      operatingSystem: info.operatingSystem ?? '',
      osImage: info.osImage ?? '',
      kernelVersion: info.kernelVersion ?? '',
      kubeletVersion: info.kubeletVersion ?? '',
      containerRuntimeVersion: info.containerRuntimeVersion ?? '',
    },
    dynamic: {
      labels: { ...metadata.labels },
      taints: (node.spec?.taints ?? [])
        .map((t) => ({
          key: t.key,
          ...(t.value !== undefined && t.value !== '' ? { value: t.value } : {}),
          effect: t.effect,
        }))
        .sort((a, b) => byKey(a.key, b.key) || byKey(a.effect, b.effect)),
      unschedulable: node.spec?.unschedulable === true,
      conditions: (status.conditions ?? [])
        .map((c) => ({
          type: c.type,
          status: conditionStatus(c.status),
          ...(c.reason ? { reason: c.reason } : {}),
        }))
        .sort((a, b) => byKey(a.type, b.type)),
      addresses: (status.addresses ?? [])
        .map((a) => ({ type: a.type, address: a.address }))
        .sort((a, b) => byKey(a.type, b.type) || byKey(a.address, b.address)),
    },
  };
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

function sameList<T extends object>(
  a: readonly T[],
  b: readonly T[],
  same: (x: T, y: T) => boolean,
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}

/** Names of the fields whose values differ between two views of one node, in contract order; empty when equal. */
export function changedFields(before: NodeView, after: NodeView): NodeField[] {
  const changed: NodeField[] = [];
  const b = before.dynamic;
  const a = after.dynamic;
  if (!sameRecord(b.labels, a.labels)) changed.push('labels');
  if (
    !sameList(b.taints, a.taints, (x, y) => x.key === y.key && x.value === y.value && x.effect === y.effect)
  )
    changed.push('taints');
  if (b.unschedulable !== a.unschedulable) changed.push('unschedulable');
  if (
    !sameList(
      b.conditions,
      a.conditions,
      (x, y) => x.type === y.type && x.status === y.status && x.reason === y.reason,
    )
  ) {
    changed.push('conditions');
  }
  if (!sameList(b.addresses, a.addresses, (x, y) => x.type === y.type && x.address === y.address))
    changed.push('addresses');
  const bs = before.static;
  const as = after.static;
  if (!sameRecord(bs.capacity, as.capacity)) changed.push('capacity');
  if (!sameRecord(bs.allocatable, as.allocatable)) changed.push('allocatable');
  if (
    bs.architecture !== as.architecture ||
    bs.operatingSystem !== as.operatingSystem ||
    bs.osImage !== as.osImage ||
    bs.kernelVersion !== as.kernelVersion ||
    bs.kubeletVersion !== as.kubeletVersion ||
    bs.containerRuntimeVersion !== as.containerRuntimeVersion
  ) {
    changed.push('nodeInfo');
  }
  return changed;
}

/** The label-like record of an observed node as its view holds it (absent: empty). */
function sameObservedRecord(
  view: Record<string, string>,
  observed: Record<string, string> | undefined,
): boolean {
  let count = 0;
  if (observed) {
    for (const key in observed) {
      if (view[key] !== observed[key]) return false;
      count++;
    }
  }
  let viewCount = 0;
  for (const _ in view) viewCount++;
  return count === viewCount;
}

/**
 * True when `observed` and `view` hold the same multiset of elements, comparing each observed
 * element as the view normalises it (`same`). Lists are a handful of elements: quadratic, no allocation.
 */
function sameObservedList<O, V>(
  view: readonly V[],
  observed: readonly O[] | undefined,
  same: (o: O, v: V) => boolean,
  sameObserved: (a: O, b: O) => boolean,
): boolean {
  const list = observed ?? [];
  if (list.length !== view.length) return false;
  for (const item of list) {
    let inView = 0;
    for (const v of view) if (same(item, v)) inView++;
    if (inView === 0) return false;
    let inObserved = 0;
    for (const other of list) if (sameObserved(item, other)) inObserved++;
    if (inObserved !== inView) return false;
  }
  return true;
}

type ObservedTaint = NonNullable<NonNullable<ObservedNode['spec']>['taints']>[number];
type ObservedCondition = NonNullable<NonNullable<ObservedNode['status']>['conditions']>[number];
type ObservedAddress = NonNullable<NonNullable<ObservedNode['status']>['addresses']>[number];

const taintValue = (t: ObservedTaint) => (t.value !== undefined && t.value !== '' ? t.value : undefined);
const sameTaint = (o: ObservedTaint, v: NodeView['dynamic']['taints'][number]) =>
  o.key === v.key && o.effect === v.effect && taintValue(o) === v.value;
const sameObservedTaint = (a: ObservedTaint, b: ObservedTaint) =>
  a.key === b.key && a.effect === b.effect && taintValue(a) === taintValue(b);
const conditionReason = (c: ObservedCondition) => (c.reason ? c.reason : undefined);
const sameCondition = (o: ObservedCondition, v: NodeView['dynamic']['conditions'][number]) =>
  o.type === v.type && conditionStatus(o.status) === v.status && conditionReason(o) === v.reason;
const sameObservedCondition = (a: ObservedCondition, b: ObservedCondition) =>
  a.type === b.type &&
  conditionStatus(a.status) === conditionStatus(b.status) &&
  conditionReason(a) === conditionReason(b);
const sameAddress = (o: ObservedAddress, v: NodeView['dynamic']['addresses'][number]) =>
  o.type === v.type && o.address === v.address;

/**
 * True when publishing `observed` after `view` (the node's view in its last event) would publish
 * nothing: exactly when `changedFields(view, toNodeView(observed))` is empty and the uid is not
 * another one. Decided on the object as received, without building its view (no allocation), so
 * heartbeat-only updates, the bulk of what a cluster reports, cost a few comparisons.
 */
export function unchangedFrom(view: NodeView, observed: ObservedNode): boolean {
  const metadata = observed.metadata;
  const uid = metadata?.uid ?? '';
  if (view.uid && uid && view.uid !== uid) return false;
  const d = view.dynamic;
  const spec = observed.spec;
  if (d.unschedulable !== (spec?.unschedulable === true)) return false;
  if (!sameObservedRecord(d.labels, metadata?.labels)) return false;
  const status = observed.status;
  const s = view.static;
  const info = status?.nodeInfo;
  if (
    s.architecture !== (info?.architecture ?? '') ||
    s.operatingSystem !== (info?.operatingSystem ?? '') ||
    s.osImage !== (info?.osImage ?? '') ||
    s.kernelVersion !== (info?.kernelVersion ?? '') ||
    s.kubeletVersion !== (info?.kubeletVersion ?? '') ||
    s.containerRuntimeVersion !== (info?.containerRuntimeVersion ?? '')
  )
    return false;
  if (!sameObservedRecord(s.capacity, status?.capacity)) return false;
  if (!sameObservedRecord(s.allocatable, status?.allocatable)) return false;
  if (!sameObservedList(d.taints, spec?.taints, sameTaint, sameObservedTaint)) return false;
  if (!sameObservedList(d.conditions, status?.conditions, sameCondition, sameObservedCondition)) return false;
  return sameObservedList(d.addresses, status?.addresses, sameAddress, (a, b) => sameAddress(a, b));
}

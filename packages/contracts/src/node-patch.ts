import type { NodePatch, NodeView } from './nodes.ts';

type RecordPatch = Record<string, string | null>;

/** The merge patch of a record: changed and added keys with their value, removed keys with `null`; undefined when equal. */
function recordPatch(before: Record<string, string>, after: Record<string, string>): RecordPatch | undefined {
  const patch: RecordPatch = {};
  let changed = false;
  for (const key in after) {
    if (before[key] !== after[key] || !Object.hasOwn(before, key)) {
      patch[key] = after[key]!;
      changed = true;
    }
  }
  for (const key in before) {
    if (!Object.hasOwn(after, key)) {
      patch[key] = null;
      changed = true;
    }
  }
  return changed ? patch : undefined;
}

/** Arrays of small plain objects built in one fixed key order (the informer's views): equal when their JSON is. */
function sameArray(a: readonly object[], b: readonly object[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

function mergeRecord(base: Record<string, string>, patch: RecordPatch | undefined): Record<string, string> {
  if (!patch) return base;
  const out = { ...base };
  for (const key in patch) {
    const value = patch[key];
    if (value === null || value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

const NODE_INFO = [
  'architecture',
  'operatingSystem',
  'osImage',
  'kernelVersion',
  'kubeletVersion',
  'containerRuntimeVersion',
] as const;

/**
 * The merge patch (RFC 7396, see {@link NodePatch}) that turns `before` into `after`, two views
 * of the same node: `applyNodePatch(before, nodePatchOf(before, after))` is deep-equal to `after`.
 * Empty (`{}`) when the views are equal.
 */
export function nodePatchOf(before: NodeView, after: NodeView): NodePatch {
  const patch: NodePatch = {};
  if (before.uid !== after.uid) patch.uid = after.uid;
  if (before.createdAt !== after.createdAt) patch.createdAt = after.createdAt ?? null;

  const bs = before.static;
  const as = after.static;
  const staticPatch: NonNullable<NodePatch['static']> = {};
  const capacity = recordPatch(bs.capacity, as.capacity);
  if (capacity) staticPatch.capacity = capacity;
  const allocatable = recordPatch(bs.allocatable, as.allocatable);
  if (allocatable) staticPatch.allocatable = allocatable;
  for (const key of NODE_INFO) if (bs[key] !== as[key]) staticPatch[key] = as[key];
  if (Object.keys(staticPatch).length > 0) patch.static = staticPatch;

  const bd = before.dynamic;
  const ad = after.dynamic;
  const dynamicPatch: NonNullable<NodePatch['dynamic']> = {};
  const labels = recordPatch(bd.labels, ad.labels);
  if (labels) dynamicPatch.labels = labels;
  if (!sameArray(bd.taints, ad.taints)) dynamicPatch.taints = ad.taints;
  if (bd.unschedulable !== ad.unschedulable) dynamicPatch.unschedulable = ad.unschedulable;
  if (!sameArray(bd.conditions, ad.conditions)) dynamicPatch.conditions = ad.conditions;
  if (!sameArray(bd.addresses, ad.addresses)) dynamicPatch.addresses = ad.addresses;
  if (Object.keys(dynamicPatch).length > 0) patch.dynamic = dynamicPatch;
  return patch;
}

/**
 * `view` with `patch` applied (RFC 7396 semantics over a {@link NodeView}), as a new object:
 * `view` itself is left unchanged, and members the patch does not touch are shared with it.
 */
export function applyNodePatch(view: NodeView, patch: NodePatch): NodeView {
  const next: NodeView = { ...view };
  if (patch.uid !== undefined) next.uid = patch.uid;
  if (patch.createdAt === null) delete next.createdAt;
  else if (patch.createdAt !== undefined) next.createdAt = patch.createdAt;
  const s = patch.static;
  if (s) {
    const merged = { ...view.static };
    merged.capacity = mergeRecord(view.static.capacity, s.capacity);
    merged.allocatable = mergeRecord(view.static.allocatable, s.allocatable);
    for (const key of NODE_INFO) {
      const value = s[key];
      if (value !== undefined) merged[key] = value;
    }
    next.static = merged;
  }
  const d = patch.dynamic;
  if (d) {
    const merged = { ...view.dynamic };
    merged.labels = mergeRecord(view.dynamic.labels, d.labels);
    if (d.taints !== undefined) merged.taints = d.taints;
    if (d.unschedulable !== undefined) merged.unschedulable = d.unschedulable;
    if (d.conditions !== undefined) merged.conditions = d.conditions;
    if (d.addresses !== undefined) merged.addresses = d.addresses;
    next.dynamic = merged;
  }
  return next;
}

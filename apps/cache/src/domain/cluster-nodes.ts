import type { NodeDynamic, NodeField, NodeStatic, NodeView } from '@tideline/contracts';
import { forEachMember, LabelIndex, type Members } from './label-index.ts';
import type { LabelSelector } from './label-selector.ts';
import { ReplayHistory } from './replay-history.ts';
import type { SharedValues } from './shared-values.ts';

type NodeAddress = NodeDynamic['addresses'][number];

const STATIC_FIELDS: ReadonlySet<NodeField> = new Set(['capacity', 'allocatable', 'nodeInfo']);

export function isReady(conditions: NodeDynamic['conditions']): boolean {
  for (const condition of conditions) if (condition.type === 'Ready') return condition.status === 'True';
  return false;
}

/** Values many nodes have alike, held once for every cluster of a read model. */
export interface SharedNodeValues {
  statics: SharedValues<NodeStatic>;
  conditions: SharedValues<NodeDynamic['conditions']>;
  taints: SharedValues<NodeDynamic['taints']>;
  /** Address types. */
  words: SharedValues<string>;
}

/**
 * One node as held: its static record apart from its dynamic fields. Static records, conditions
 * and taints are shared with every equal node (see {@link SharedNodeValues}); labels are made of
 * the cluster's label index strings. Every field is replaced on change, never modified in place.
 */
export interface HeldNode {
  readonly name: string;
  uid: string;
  createdAt: string | undefined;
  static: NodeStatic;
  labels: Readonly<Record<string, string>>;
  taints: NodeDynamic['taints'];
  unschedulable: boolean;
  conditions: NodeDynamic['conditions'];
  addresses: readonly NodeAddress[];
  ready: boolean;
}

export interface NodeFilter {
  selector?: LabelSelector | undefined;
  schedulable?: boolean | undefined;
  ready?: boolean | undefined;
}

/** Nodes having (positive) or excluded by (negative) one constraint of a filter. */
interface Constraint {
  size: number;
  members: (Members<HeldNode> | undefined)[];
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key] || !Object.hasOwn(b, key)) return false;
  return true;
}

const byName = (a: HeldNode, b: HeldNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The nodes of one cluster as of {@link lastEventId}. Static attributes (capacity, allocatable,
 * node info) are held apart from dynamic ones (labels, taints, unschedulable, conditions,
 * addresses): an event that changes only dynamic fields leaves the static record untouched.
 * Nodes are kept sorted by name, indexed by label, and the not-ready and unschedulable ones are
 * kept apart, so lists page in name order without sorting, a label selector or a ready /
 * schedulable filter costs time in proportion to the nodes it names, and summaries cost nothing.
 */
export class ClusterNodes {
  private readonly byName = new Map<string, HeldNode>();
  private sorted: HeldNode[] = [];
  private readonly labels = new LabelIndex<HeldNode>();
  private readonly notReady = new Set<HeldNode>();
  private readonly cordoned = new Set<HeldNode>();
  lastEventId = 0;
  /** Unregistered (a `cluster-removed` was applied and nothing followed). */
  removed = false;
  readonly history: ReplayHistory;

  constructor(
    readonly cluster: string,
    historySize: number,
    private readonly shared: SharedNodeValues,
  ) {
    this.history = new ReplayHistory(historySize);
  }

  get size(): number {
    return this.byName.size;
  }

  get ready(): number {
    return this.byName.size - this.notReady.size;
  }

  get unschedulable(): number {
    return this.cordoned.size;
  }

  /** The held nodes in ascending name order (do not modify). */
  get nodes(): readonly HeldNode[] {
    return this.sorted;
  }

  get(name: string): HeldNode | undefined {
    return this.byName.get(name);
  }

  /** Folds in an added or updated node; answers the node as now held. */
  put(view: NodeView, changed: readonly NodeField[], type: 'added' | 'updated'): HeldNode {
    const { statics, conditions, taints } = this.shared;
    const held = this.byName.get(view.name);
    if (!held) {
      const conditionList = conditions.acquire(view.dynamic.conditions);
      const fresh: HeldNode = {
        name: view.name,
        uid: view.uid,
        createdAt: view.createdAt,
        static: statics.acquire(view.static),
        labels: {},
        taints: taints.acquire(view.dynamic.taints),
        unschedulable: view.dynamic.unschedulable,
        conditions: conditionList,
        addresses: this.addressesOf(view),
        ready: isReady(conditionList),
      };
      fresh.labels = this.labels.add(fresh, view.dynamic.labels);
      this.byName.set(fresh.name, fresh);
      this.insert(fresh);
      this.track(fresh);
      return fresh;
    }
    this.untrack(held);
    held.uid = view.uid;
    held.createdAt = view.createdAt;
    // An update naming only dynamic fields keeps the held static record.
    if (type === 'added' || changed.some((f) => STATIC_FIELDS.has(f)))
      held.static = swap(statics, held.static, view.static);
    if (!sameLabels(held.labels, view.dynamic.labels)) {
      this.labels.remove(held, held.labels);
      held.labels = this.labels.add(held, view.dynamic.labels);
    }
    held.taints = swap(taints, held.taints, view.dynamic.taints);
    held.conditions = swap(conditions, held.conditions, view.dynamic.conditions);
    const addresses = this.addressesOf(view);
    this.releaseAddresses(held);
    held.addresses = addresses;
    held.unschedulable = view.dynamic.unschedulable;
    held.ready = isReady(held.conditions);
    this.track(held);
    return held;
  }

  delete(name: string): void {
    const held = this.byName.get(name);
    if (!held) return;
    this.untrack(held);
    this.release(held);
    this.byName.delete(name);
    const at = this.indexOf(name);
    if (this.sorted[at] === held) this.sorted.splice(at, 1);
  }

  clear(): void {
    for (const held of this.sorted) this.release(held);
    this.byName.clear();
    this.sorted = [];
    this.labels.clear();
    this.notReady.clear();
    this.cordoned.clear();
  }

  /** The node's view, joined from its static and dynamic records. */
  view(name: string): NodeView | undefined {
    const held = this.byName.get(name);
    return held ? viewOf(held) : undefined;
  }

  /**
   * The nodes matching `filter` in name order, the page `[offset, offset + limit)` of them, and
   * how many match in all. Exactly what testing every node against the filter would answer.
   */
  select(filter: NodeFilter, offset: number, limit: number): { items: HeldNode[]; total: number } {
    const { selector, schedulable, ready } = filter;
    const count = this.sorted.length;
    const matches = (node: HeldNode) =>
      (ready === undefined || node.ready === ready) &&
      (schedulable === undefined || node.unschedulable !== schedulable) &&
      (selector === undefined || selector(node.labels));
    // A hand-written predicate (no requirements) can only be answered by testing every node.
    if (selector !== undefined && selector.requirements === undefined) {
      let total = 0;
      for (const node of this.sorted) if (matches(node)) total += 1;
      return { items: this.scan(matches, offset, Math.min(total, offset + limit)), total };
    }
    const positive: Constraint[] = [];
    const negative: Constraint[] = [];
    for (const requirement of selector?.requirements ?? []) {
      switch (requirement.op) {
        case 'equals':
          positive.push(this.withValues(requirement.key, [requirement.value]));
          break;
        case 'in':
          positive.push(this.withValues(requirement.key, requirement.values));
          break;
        case 'exists':
          positive.push(this.labels.withKey(requirement.key));
          break;
        case 'not-equals':
          negative.push(this.withValues(requirement.key, [requirement.value]));
          break;
        case 'notin':
          negative.push(this.withValues(requirement.key, requirement.values));
          break;
        case 'not-exists':
          negative.push(this.labels.withKey(requirement.key));
          break;
      }
    }
    const notReady = { size: this.notReady.size, members: [this.notReady] };
    const cordoned = { size: this.cordoned.size, members: [this.cordoned] };
    if (ready !== undefined) (ready ? negative : positive).push(notReady);
    if (schedulable !== undefined) (schedulable ? negative : positive).push(cordoned);
    const constraints = positive.length + negative.length;
    if (constraints === 0) return { items: this.sorted.slice(offset, offset + limit), total: count };

    // How many match: from the smallest set of candidates, or as what the exclusions leave.
    let total: number;
    let found: HeldNode[] | undefined;
    let smallest: Constraint | undefined;
    for (const c of positive) if (!smallest || c.size < smallest.size) smallest = c;
    if (smallest && constraints === 1) total = smallest.size;
    else if (smallest) {
      found = this.gather(smallest, matches);
      total = found.length;
    } else if (negative.length === 1) total = count - negative[0]!.size;
    else if (negative.reduce((sum, c) => sum + c.size, 0) < count) {
      const excluded = new Set<HeldNode>();
      for (const c of negative)
        for (const members of c.members) forEachMember(members, (n) => excluded.add(n));
      total = count - excluded.size;
    } else {
      found = this.scan(matches, 0, count);
      total = found.length;
    }
    const end = Math.min(total, offset + limit);
    if (offset >= end) return { items: [], total };

    // The page: walk the name order until it is full, or sort the candidates, whichever costs less.
    const walkCost = (end * count) / total;
    const sortCost =
      (found ? 0 : (smallest?.size ?? Number.POSITIVE_INFINITY)) + total * Math.log2(total + 1);
    if (walkCost <= sortCost) return { items: this.scan(matches, offset, end), total };
    found ??= this.gather(smallest!, matches);
    return { items: found.sort(byName).slice(offset, end), total };
  }

  /** The matching nodes `[offset, end)` in name order, walking the name order until `end` matched. */
  private scan(matches: (node: HeldNode) => boolean, offset: number, end: number): HeldNode[] {
    const items: HeldNode[] = [];
    let seen = 0;
    for (const node of this.sorted) {
      if (seen >= end) break;
      if (!matches(node)) continue;
      if (seen >= offset) items.push(node);
      seen += 1;
    }
    return items;
  }

  private gather(candidates: Constraint, matches: (node: HeldNode) => boolean): HeldNode[] {
    const found: HeldNode[] = [];
    for (const members of candidates.members)
      forEachMember(members, (node) => {
        if (matches(node)) found.push(node);
      });
    return found;
  }

  /** Nodes whose label `key` has one of `values` (a node has one value per key: the sets are disjoint). */
  private withValues(key: string, values: Iterable<string>): Constraint {
    const members: (Members<HeldNode> | undefined)[] = [];
    let size = 0;
    for (const value of values) {
      const entry = this.labels.withValue(key, value);
      members.push(entry.members);
      size += entry.size;
    }
    return { size, members };
  }

  private addressesOf(view: NodeView): NodeAddress[] {
    const { words } = this.shared;
    return view.dynamic.addresses.map((a) =>
      Object.freeze({
        type: words.acquire(a.type),
        // The Hostname address is usually the node's name: hold that text once.
        address: a.address === view.name ? view.name : a.address,
      }),
    );
  }

  private releaseAddresses(held: HeldNode): void {
    for (const address of held.addresses) this.shared.words.release(address.type);
  }

  private release(held: HeldNode): void {
    const { statics, conditions, taints } = this.shared;
    this.labels.remove(held, held.labels);
    statics.release(held.static);
    conditions.release(held.conditions);
    taints.release(held.taints);
    this.releaseAddresses(held);
  }

  private track(held: HeldNode): void {
    if (!held.ready) this.notReady.add(held);
    if (held.unschedulable) this.cordoned.add(held);
  }

  private untrack(held: HeldNode): void {
    this.notReady.delete(held);
    this.cordoned.delete(held);
  }

  private indexOf(name: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]!.name < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(held: HeldNode): void {
    const at = this.indexOf(held.name);
    if (at === this.sorted.length) this.sorted.push(held);
    else this.sorted.splice(at, 0, held);
  }
}

/** The held instance equal to `next` in place of `current` (released). */
function swap<T>(pool: SharedValues<T>, current: T, next: T): T {
  const acquired = pool.acquire(next);
  pool.release(current);
  return acquired;
}

export function viewOf(held: HeldNode): NodeView {
  return {
    name: held.name,
    uid: held.uid,
    ...(held.createdAt ? { createdAt: held.createdAt } : {}),
    static: held.static,
    dynamic: {
      labels: held.labels,
      taints: held.taints as NodeDynamic['taints'],
      unschedulable: held.unschedulable,
      conditions: held.conditions as NodeDynamic['conditions'],
      addresses: held.addresses as NodeDynamic['addresses'],
    },
  };
}

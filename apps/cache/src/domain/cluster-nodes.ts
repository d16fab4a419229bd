import type { NodeDynamic, NodeField, NodeStatic, NodeView } from '@tideline/contracts';
import { ReplayHistory } from './replay-history.ts';

const STATIC_FIELDS: ReadonlySet<NodeField> = new Set(['capacity', 'allocatable', 'nodeInfo']);

export function isReady(dynamic: NodeDynamic): boolean {
  for (const condition of dynamic.conditions)
    if (condition.type === 'Ready') return condition.status === 'True';
  return false;
}

/** One node as held: its static and dynamic records apart, plus what filters read often. */
export interface HeldNode {
  readonly name: string;
  uid: string;
  createdAt: string | undefined;
  static: NodeStatic;
  dynamic: NodeDynamic;
  ready: boolean;
}

/**
 * The nodes of one cluster as of {@link lastEventId}. Static attributes (capacity, allocatable,
 * node info) are held apart from dynamic ones (labels, taints, unschedulable, conditions,
 * addresses): an event that changes only dynamic fields leaves the static record untouched.
 * Nodes are kept sorted by name and ready/unschedulable counts are kept current, so lists page in
 * name order without sorting and summaries cost nothing.
 */
export class ClusterNodes {
  private readonly byName = new Map<string, HeldNode>();
  private sorted: HeldNode[] = [];
  private readyCount = 0;
  private unschedulableCount = 0;
  lastEventId = 0;
  /** Unregistered (a `cluster-removed` was applied and nothing followed). */
  removed = false;
  readonly history: ReplayHistory;

  constructor(
    readonly cluster: string,
    historySize: number,
  ) {
    this.history = new ReplayHistory(historySize);
  }

  get size(): number {
    return this.byName.size;
  }

  get ready(): number {
    return this.readyCount;
  }

  get unschedulable(): number {
    return this.unschedulableCount;
  }

  /** The held nodes in ascending name order (do not modify). */
  get nodes(): readonly HeldNode[] {
    return this.sorted;
  }

  get(name: string): HeldNode | undefined {
    return this.byName.get(name);
  }

  put(view: NodeView, changed: readonly NodeField[], type: 'added' | 'updated'): void {
    const held = this.byName.get(view.name);
    if (!held) {
      const fresh: HeldNode = {
        name: view.name,
        uid: view.uid,
        createdAt: view.createdAt,
        static: view.static,
        dynamic: view.dynamic,
        ready: isReady(view.dynamic),
      };
      this.byName.set(view.name, fresh);
      this.insert(fresh);
      this.count(fresh, +1);
      return;
    }
    this.count(held, -1);
    held.uid = view.uid;
    held.createdAt = view.createdAt;
    held.dynamic = view.dynamic;
    held.ready = isReady(view.dynamic);
    // An update naming only dynamic fields keeps the held static record.
    if (type === 'added' || changed.some((f) => STATIC_FIELDS.has(f))) held.static = view.static;
    this.count(held, +1);
  }

  delete(name: string): void {
    const held = this.byName.get(name);
    if (!held) return;
    this.count(held, -1);
    this.byName.delete(name);
    const at = this.indexOf(name);
    if (this.sorted[at] === held) this.sorted.splice(at, 1);
  }

  clear(): void {
    this.byName.clear();
    this.sorted = [];
    this.readyCount = 0;
    this.unschedulableCount = 0;
  }

  /** The node's view, joined from its static and dynamic records. */
  view(name: string): NodeView | undefined {
    const held = this.byName.get(name);
    return held ? viewOf(held) : undefined;
  }

  private count(held: HeldNode, sign: 1 | -1): void {
    if (held.ready) this.readyCount += sign;
    if (held.dynamic.unschedulable) this.unschedulableCount += sign;
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

export function viewOf(held: HeldNode): NodeView {
  return {
    name: held.name,
    uid: held.uid,
    ...(held.createdAt ? { createdAt: held.createdAt } : {}),
    static: held.static,
    dynamic: held.dynamic,
  };
}

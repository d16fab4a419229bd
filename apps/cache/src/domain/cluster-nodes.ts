import type { NodeDynamic, NodeField, NodeStatic, NodeView } from '@tideline/contracts';
import { ReplayHistory } from './replay-history.ts';

interface Identity {
  uid: string;
  createdAt: string | undefined;
}

const STATIC_FIELDS: ReadonlySet<NodeField> = new Set(['capacity', 'allocatable', 'nodeInfo']);

export function isReady(dynamic: NodeDynamic): boolean {
  for (const condition of dynamic.conditions)
    if (condition.type === 'Ready') return condition.status === 'True';
  return false;
}

/**
 * The nodes of one cluster as of {@link lastEventId}. Static attributes (capacity, allocatable,
 * node info) are held apart from dynamic ones (labels, taints, unschedulable, conditions,
 * addresses): an event that changes only dynamic fields leaves the static record untouched.
 * Names are kept sorted and ready/unschedulable counts are kept current, so lists page in name
 * order and summaries cost nothing.
 */
export class ClusterNodes {
  readonly statics = new Map<string, NodeStatic>();
  readonly dynamics = new Map<string, NodeDynamic>();
  private readonly identities = new Map<string, Identity>();
  private sorted: string[] = [];
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
    return this.dynamics.size;
  }

  get ready(): number {
    return this.readyCount;
  }

  get unschedulable(): number {
    return this.unschedulableCount;
  }

  /** Node names in ascending order (do not modify). */
  get names(): readonly string[] {
    return this.sorted;
  }

  put(view: NodeView, changed: readonly NodeField[], type: 'added' | 'updated'): void {
    const name = view.name;
    const previous = this.dynamics.get(name);
    if (previous) {
      this.count(previous, -1);
    } else {
      this.insertName(name);
    }
    this.dynamics.set(name, view.dynamic);
    this.count(view.dynamic, +1);
    // An update naming only dynamic fields keeps the held static record.
    if (type === 'added' || !this.statics.has(name) || changed.some((f) => STATIC_FIELDS.has(f)))
      this.statics.set(name, view.static);
    this.identities.set(name, { uid: view.uid, createdAt: view.createdAt });
  }

  delete(name: string): void {
    const previous = this.dynamics.get(name);
    if (!previous) return;
    this.count(previous, -1);
    this.dynamics.delete(name);
    this.statics.delete(name);
    this.identities.delete(name);
    const at = this.indexOf(name);
    if (this.sorted[at] === name) this.sorted.splice(at, 1);
  }

  clear(): void {
    this.statics.clear();
    this.dynamics.clear();
    this.identities.clear();
    this.sorted = [];
    this.readyCount = 0;
    this.unschedulableCount = 0;
  }

  /** The node's view, joined from its static and dynamic records. */
  view(name: string): NodeView | undefined {
    const dynamic = this.dynamics.get(name);
    const fixed = this.statics.get(name);
    const identity = this.identities.get(name);
    if (!dynamic || !fixed || !identity) return undefined;
    return {
      name,
      uid: identity.uid,
      ...(identity.createdAt ? { createdAt: identity.createdAt } : {}),
      static: fixed,
      dynamic,
    };
  }

  private count(dynamic: NodeDynamic, sign: 1 | -1): void {
    if (isReady(dynamic)) this.readyCount += sign;
    if (dynamic.unschedulable) this.unschedulableCount += sign;
  }

  private indexOf(name: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insertName(name: string): void {
    const at = this.indexOf(name);
    if (this.sorted.length === 0 || at === this.sorted.length) this.sorted.push(name);
    else this.sorted.splice(at, 0, name);
  }
}

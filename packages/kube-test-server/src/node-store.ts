import type { KubeNode } from './node-object.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change as a watch stream carries it: already serialized, shared by every watcher. */
export interface StoredEvent {
  readonly resourceVersion: number;
  readonly line: string;
}

export class AlreadyExistsError extends Error {
  override readonly name = 'AlreadyExistsError';
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/**
 * The nodes of one cluster, with one resourceVersion counter like etcd's revision: every change
 * gets the next version. The last `historyWindow` changes are kept so watches can resume from a
 * resourceVersion; resuming from before the window is impossible (the server answers 410 Gone).
 */
export class NodeStore {
  private readonly objects = new Map<string, KubeNode>();
  private history: StoredEvent[] = [];
  private historyStart = 0;
  private revision = 0;
  /** Highest version whose event is no longer held; a watch must start at or after it. */
  private compactedThrough = 0;
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(private readonly historyWindow: number) {}

  get resourceVersion(): number {
    return this.revision;
  }

  /** Oldest resourceVersion a watch can resume from. */
  get oldestResumable(): number {
    return this.compactedThrough;
  }

  get size(): number {
    return this.objects.size;
  }

  get(name: string): KubeNode | undefined {
    return this.objects.get(name);
  }

  names(): string[] {
    return [...this.objects.keys()];
  }

  /** Current objects sorted by name, as a list answers them. */
  sorted(): KubeNode[] {
    return [...this.objects.values()].sort((a, b) =>
      a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
    );
  }

  onEvent(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  add(node: KubeNode): KubeNode {
    if (this.objects.has(node.metadata.name))
      throw new AlreadyExistsError(`nodes "${node.metadata.name}" already exists`);
    this.objects.set(node.metadata.name, node);
    this.record('ADDED', node);
    return node;
  }

  /** Applies `mutate` to the stored object and records a MODIFIED event (also when nothing but the version changes). */
  update(name: string, mutate: (node: KubeNode) => void): KubeNode {
    const node = this.objects.get(name);
    if (!node) throw new NotFoundError(`nodes "${name}" not found`);
    mutate(node);
    this.record('MODIFIED', node);
    return node;
  }

  delete(name: string): KubeNode {
    const node = this.objects.get(name);
    if (!node) throw new NotFoundError(`nodes "${name}" not found`);
    this.objects.delete(name);
    this.record('DELETED', node);
    return node;
  }

  /**
   * Events after `resourceVersion`, oldest first, or `expired` when some of them are no longer
   * held (kube-apiserver: "too old resource version").
   */
  eventsAfter(resourceVersion: number): StoredEvent[] | 'expired' {
    if (resourceVersion < this.compactedThrough) return 'expired';
    const held = this.history;
    let lo = this.historyStart;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (held[mid]!.resourceVersion <= resourceVersion) lo = mid + 1;
      else hi = mid;
    }
    return held.slice(lo);
  }

  /** Forgets every held event, like an etcd compaction: resuming from any earlier version fails with 410. */
  compact(): void {
    this.history = [];
    this.historyStart = 0;
    this.compactedThrough = this.revision;
  }

  private record(type: WatchEventType, node: KubeNode): void {
    this.revision += 1;
    node.metadata.resourceVersion = String(this.revision);
    const event: StoredEvent = {
      resourceVersion: this.revision,
      line: `${JSON.stringify({ type, object: node })}\n`,
    };
    this.history.push(event);
    if (this.history.length - this.historyStart > this.historyWindow) {
      this.compactedThrough = this.history[this.historyStart]!.resourceVersion;
      this.historyStart += 1;
      if (this.historyStart > 1024 && this.historyStart * 2 > this.history.length) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const listener of this.listeners) listener(event);
  }
}

import type { NodesInitial, NodesUpdate, NodeView } from '@tideline/contracts';
import { SourceNotFoundError } from '../../src/domain/errors.ts';
import type { FeedReplay, NodesSource, ReplayRequest } from '../../src/domain/ports.ts';

/** A node as the informer describes it, with the given labels. */
export function nodeView(name: string, labels: Record<string, string> = {}): NodeView {
  return {
    name,
    uid: `uid-${name}`,
    static: {
      capacity: { cpu: '4', memory: '16Gi' },
      allocatable: { cpu: '4', memory: '15Gi' },
      architecture: 'amd64',
      operatingSystem: 'linux',
      osImage: 'Debian 12',
      kernelVersion: '6.1.0',
      kubeletVersion: 'v1.31.0',
      containerRuntimeVersion: 'containerd://1.7.0',
    },
    dynamic: {
      labels,
      taints: [],
      unschedulable: false,
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [],
    },
  };
}

/**
 * Stands in for the cache service's node snapshot/replay port (the cache is another service;
 * the gateway's HTTP client of it is covered by the contract). Records every replay asked.
 */
export class FakeCache implements NodesSource {
  private readonly clusters = new Map<string, NodesInitial>();
  readonly replays: { cluster: string; request: ReplayRequest }[] = [];
  replayAnswer: FeedReplay<NodesUpdate> = { kind: 'fallback', reason: 'purged' };

  set(cluster: string, lastEventId: number, items: NodeView[]): void {
    this.clusters.set(cluster, { cluster, items, total: items.length, lastEventId });
  }

  /** The cluster is unregistered: snapshots answer not found, replays `unknown-cluster`. */
  remove(cluster: string): void {
    this.clusters.delete(cluster);
  }

  async snapshot(cluster: string): Promise<NodesInitial> {
    const snapshot = this.clusters.get(cluster);
    if (!snapshot) throw new SourceNotFoundError(`no cluster ${cluster}`);
    return snapshot;
  }

  async replay(cluster: string, request: ReplayRequest): Promise<FeedReplay<NodesUpdate>> {
    this.replays.push({ cluster, request });
    if (!this.clusters.has(cluster)) return { kind: 'fallback', reason: 'unknown-cluster' };
    return this.replayAnswer;
  }
}

import { INTERNAL_PATHS, NodesReplay, NodesSnapshot } from '@tideline/contracts';
import { SourceNotFoundError } from '../domain/errors.ts';
import { type NodeUpdateFormat, nodeMessageOf } from '../domain/node-delta.ts';
import type { NodesSource, ReplayRequest } from '../domain/ports.ts';
import type { InternalHttpClient } from './internal-http.ts';

/** Node snapshots and replays per cluster from the cache service, over its internal HTTP endpoints. */
export class CacheNodesSource implements NodesSource {
  constructor(private readonly client: InternalHttpClient) {}

  /** The cluster's nodes; an unknown (or unregistered) cluster is {@link SourceNotFoundError}. */
  async snapshot(cluster: string) {
    try {
      return await this.client.get(INTERNAL_PATHS.nodesSnapshot(cluster), {}, NodesSnapshot);
    } catch (error) {
      if (error instanceof SourceNotFoundError) throw new SourceNotFoundError(`no cluster ${cluster}`);
      throw error;
    }
  }

  async replay(cluster: string, request: ReplayRequest, format: NodeUpdateFormat = 'rows') {
    const answer = await this.client.get(
      INTERNAL_PATHS.nodesEvents(cluster),
      { after: request.after.eventId, limit: request.limit },
      NodesReplay,
    );
    if (answer.kind === 'fallback') return { kind: 'fallback' as const, reason: answer.reason };
    return { kind: 'events' as const, updates: answer.events.map((event) => nodeMessageOf(event, format)) };
  }
}

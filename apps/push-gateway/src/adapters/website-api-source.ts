import { INTERNAL_PATHS, WebsitesReplay, WebsitesSnapshot } from '@tideline/contracts';
import { websiteUpdateOf } from '../domain/messages.ts';
import type { ReplayRequest, WebsitesSource } from '../domain/ports.ts';
import type { InternalHttpClient } from './internal-http.ts';

/** Website snapshots and replays from website-api's event log, over its internal HTTP endpoints. */
export class WebsiteApiSource implements WebsitesSource {
  constructor(private readonly client: InternalHttpClient) {}

  snapshot() {
    return this.client.get(INTERNAL_PATHS.websitesSnapshot, {}, WebsitesSnapshot);
  }

  async replay(request: ReplayRequest) {
    const answer = await this.client.get(
      INTERNAL_PATHS.websitesEvents,
      { after: request.after.eventId, limit: request.limit, version: request.after.epoch },
      WebsitesReplay,
    );
    if (answer.kind === 'fallback') return { kind: 'fallback' as const, reason: answer.reason };
    return { kind: 'events' as const, updates: answer.events.map(websiteUpdateOf) };
  }
}

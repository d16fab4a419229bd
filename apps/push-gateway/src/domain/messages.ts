import type { NodeEvent, NodesUpdate, WebsiteEvent, WebsitesUpdate } from '@tideline/contracts';
import { nodeRowOf } from './node-delta.ts';

/** The socket message of a committed website change (the same for live delivery and replay). */
export function websiteUpdateOf(event: WebsiteEvent): WebsitesUpdate {
  switch (event.type) {
    case 'add':
      return { eventId: event.eventId, type: 'add', data: event.data };
    case 'update':
      return { eventId: event.eventId, type: 'update', data: event.data };
    case 'delete':
      return { eventId: event.eventId, type: 'delete', data: event.data };
  }
}

/** The full-row socket message of a meaningful node change (deltas: node-delta.ts). */
export function nodeUpdateOf(event: NodeEvent): NodesUpdate {
  return nodeRowOf(event);
}

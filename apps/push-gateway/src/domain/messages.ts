import type { NodeEvent, NodesUpdate, WebsiteEvent, WebsitesUpdate } from '@tideline/contracts';

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

/** The socket message of a meaningful node change. */
export function nodeUpdateOf(event: NodeEvent): NodesUpdate {
  return {
    cluster: event.data.cluster,
    eventId: event.eventId,
    type: event.type,
    data: event.data.node,
    changed: event.data.changed,
  };
}

import type {
  RequestWebsitesPayload,
  WebsiteItem,
  WebsitesInitial,
  WebsitesUpdate,
} from '@tideline/contracts';
import type { TestSocket } from './client.ts';

/**
 * What a browser holds: the websites list as of `lastEventId`, built from one initial and the
 * updates after it. Records every id it was sent and every violation of once-in-order.
 */
export class WebsitesReplica {
  readonly items = new Map<number, WebsiteItem>();
  lastEventId = 0;
  version: string | undefined;
  readonly initials: WebsitesInitial[] = [];
  /** Every update received, in arrival order. */
  readonly updates: WebsitesUpdate[] = [];
  /** Updates whose id was not above the replica's lastEventId (a duplicate or out of order). */
  readonly violations: string[] = [];

  get synced(): boolean {
    return this.version !== undefined;
  }

  attach(socket: TestSocket): void {
    socket.on('websites:initial', (message) => this.onInitial(message));
    socket.on('websites:update', (message) => this.onUpdate(message));
  }

  onInitial(message: WebsitesInitial): void {
    this.initials.push(message);
    this.items.clear();
    for (const item of message.items) this.items.set(item.website_id, item);
    this.lastEventId = message.lastEventId;
    this.version = message.version;
  }

  onUpdate(update: WebsitesUpdate): void {
    this.updates.push(update);
    if (update.eventId <= this.lastEventId) {
      this.violations.push(`update ${update.eventId} after ${this.lastEventId}`);
      return;
    }
    this.lastEventId = update.eventId;
    if (update.type === 'delete') this.items.delete(update.data.website_id);
    else this.items.set(update.data.website_id, update.data);
  }

  /** The request a resuming client sends: from its lastEventId when it holds a list, else a snapshot. */
  request(): RequestWebsitesPayload {
    return this.synced ? { lastEventId: this.lastEventId, version: this.version } : {};
  }

  /** The list sorted by id, for comparing with the database. */
  list(): WebsiteItem[] {
    return [...this.items.values()].sort((a, b) => a.website_id - b.website_id);
  }
}

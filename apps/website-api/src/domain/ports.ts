import type {
  CreateLineGroupBody,
  CreateWebsiteBody,
  LineGroup,
  UpdateWebsiteBody,
  WebsiteItem,
  WebsitesReplay,
  WebsitesSnapshot,
} from '@tideline/contracts';

export interface WebsitePage {
  items: WebsiteItem[];
  total: number;
}

/**
 * Websites and line groups. Every website change commits together with its event in the event
 * log, or not at all (invariant 1); a request that changes nothing writes no event. Failures are
 * {@link WebsiteApiError}s: NOT_FOUND, VALIDATION_FAILED (a field refers to nothing), CONFLICT
 * (a domain or name already taken), UNAVAILABLE (the database could not be reached).
 */
export interface WebsiteStore {
  createLineGroup(body: CreateLineGroupBody): Promise<LineGroup>;
  listLineGroups(): Promise<LineGroup[]>;
  createWebsite(body: CreateWebsiteBody): Promise<WebsiteItem>;
  updateWebsite(body: UpdateWebsiteBody): Promise<WebsiteItem>;
  deleteWebsite(websiteId: number): Promise<{ website_id: number }>;
  getWebsite(websiteId: number): Promise<WebsiteItem>;
  /** One page in id order; `items` and `total` are read from one snapshot of the database. */
  listWebsites(page: { page: number; pageSize: number }): Promise<WebsitePage>;
}

export interface ReplayRequest {
  after: number;
  limit: number;
  version?: string | undefined;
}

/**
 * The read side of the websites event log, for the gateways (invariants 3 and 5).
 * - `snapshot`: the whole list, exactly as of `lastEventId` (no later change in it, no earlier
 *   change missing), in log epoch `version`.
 * - `replay`: every event after `after` in id order, or — when `version` is another epoch, `after`
 *   was purged, lies in the future or more than `limit` events follow — a fallback naming why.
 */
export interface WebsiteLogReader {
  snapshot(): Promise<WebsitesSnapshot>;
  replay(request: ReplayRequest): Promise<WebsitesReplay>;
}

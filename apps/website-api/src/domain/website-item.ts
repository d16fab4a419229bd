import type { WebsiteItem, WebsiteStatus } from '@tideline/contracts';

/** A website as loaded from the store, with its domains and line group. */
export interface WebsiteRecord {
  id: number;
  httpsEnabled: boolean;
  status: WebsiteStatus;
  updatedAt: Date;
  lineGroup: { id: number; name: string; cname: string };
  domains: { domain: string; isPrimary: boolean; id: number }[];
}

/** The list item every answer and every event carries: the primary domain first, then the others in the order given. */
export function toWebsiteItem(record: WebsiteRecord): WebsiteItem {
  const domains = [...record.domains].sort(
    (a, b) => Number(b.isPrimary) - Number(a.isPrimary) || a.id - b.id,
  );
  const primary = domains[0];
  if (!primary?.isPrimary) throw new Error(`website ${record.id} has no primary domain`);
  return {
    website_id: record.id,
    primary_domain: primary.domain,
    domains: domains.map((d) => d.domain),
    cname: record.lineGroup.cname,
    line_group: { id: record.lineGroup.id, name: record.lineGroup.name },
    https_enabled: record.httpsEnabled,
    status: record.status,
    updated_at: record.updatedAt.toISOString(),
  };
}
